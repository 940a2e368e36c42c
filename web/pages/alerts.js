// Price alerts: a form for every condition notifier offers with a live preview of its
// level(s) as price lines on the symbol's chart, the user's alerts with their status
// (turned "triggered" live by the WebSocket `notifications` channel), pause, resume and
// delete, each alert's fires, and the delivery channels notifications go out on.

import { AlertForm } from '../lib/alert-form.js';
import { ChannelsSection } from '../lib/alert-channels.js';
import { PriceChart } from '../lib/chart.js';
import { append, fill, h, uniqueId } from '../lib/dom.js';
import * as format from '../lib/format.js';
import { empty, loading, problem } from '../lib/status.js';

const SYMBOL = /^[A-Z0-9^][A-Z0-9.\-^=]{0,14}$/;
const DEFAULT_SYMBOL = 'AAPL';
const PAGE_SIZE = 20;
const HISTORY = { period: '6mo', interval: '1d' };
const ALERT_LINK = /^\/api\/v1\/alerts\/([^/?#]+)$/;
const SYMBOL_SETTLE_MS = 400;

export const title = () => 'Alerts';

function statusBadge(status) {
  return h('span', { class: `badge alert-status status-${status}` }, status);
}

function section(heading, ...children) {
  const id = uniqueId('alerts-section');
  return h('section', { class: 'panel', 'aria-labelledby': id }, h('h2', { id }, heading), ...children);
}

/** The chart of the form's symbol, with the condition's levels drawn over it. */
class PreviewChart {
  constructor(form, { api, signal }) {
    this.form = form;
    this.api = api;
    this.signal = signal;
    this.symbol = null;
    this.lastClose = null;
    this.request = 0;
    this.holder = h('div', { class: 'chart alert-chart', role: 'img', 'aria-label': 'Price chart' });
    this.status = h('div', { class: 'chart-status', 'aria-live': 'polite' });
    this.line = h('p', { class: 'alert-preview', 'aria-live': 'polite' });
    this.chart = new PriceChart(this.holder);
    this.element = h('div', { class: 'alert-preview-chart' }, this.line, this.status, this.holder);
  }

  async load(symbol) {
    if (symbol === this.symbol) return;
    this.symbol = symbol;
    const request = ++this.request;
    this.holder.setAttribute('aria-busy', 'true');
    fill(this.status, loading(`Loading ${symbol}'s price history`));
    try {
      const history = await this.api.get(`/history/${encodeURIComponent(symbol)}`, { query: HISTORY, signal: this.signal });
      if (request !== this.request) return;
      this.chart.setBars(history.bars);
      this.lastClose = history.bars.at(-1)?.close ?? null;
      this.holder.dataset.symbol = symbol;
      fill(this.status, history.bars.length ? null : empty(`No price history for ${symbol}.`));
    } catch (error) {
      if (error.name === 'AbortError' || request !== this.request) return;
      this.chart.setBars([]);
      this.lastClose = null;
      this.holder.dataset.symbol = '';
      fill(this.status, problem(error));
    } finally {
      if (request === this.request) this.holder.removeAttribute('aria-busy');
    }
    this.update();
  }

  /** Redraw the levels and the sentence as the form stands. */
  update() {
    const lines = this.form.previewLines(this.lastClose);
    this.chart.setPriceLines(lines);
    const levels = lines.map((each) => `${each.title} ${format.price(each.price)}`).join(', ');
    fill(this.line, h('strong', {}, 'Preview: '), this.form.describe(), levels ? ` (${levels})` : '');
    const last = this.lastClose === null ? '' : `, last close ${format.price(this.lastClose)}`;
    this.holder.setAttribute('aria-label', `Daily chart of ${this.symbol ?? 'the symbol'}${last}${levels ? `, with ${levels}` : ''}`);
  }

  destroy() {
    this.chart.destroy();
  }
}

/** One alert's row, and the row under it with its fires when opened. */
class AlertRow {
  constructor(item, actions) {
    this.id = item.alert_id;
    this.actions = actions;
    this.status = h('td', {});
    this.description = h('td', {});
    this.controls = h('td', { class: 'alert-actions' });
    this.details = h('td', { colspan: '5' });
    this.detailsRow = h('tr', { class: 'alert-details', hidden: true }, this.details);
    this.element = h(
      'tr',
      { dataset: { alertId: item.alert_id } },
      h('th', { scope: 'row' }, h('a', { href: `#/symbols/${encodeURIComponent(item.symbol)}` }, item.symbol)),
      this.description,
      this.status,
      h('td', {}, format.dateTime(item.created_at)),
      this.controls,
    );
    this.show(item);
  }

  show(alert) {
    this.item = alert;
    this.element.dataset.status = alert.status;
    this.description.textContent = alert.description;
    fill(this.status, statusBadge(alert.status));
    const button = (label, onclick) =>
      h('button', { type: 'button', class: 'quiet', 'aria-label': `${label} the alert ${alert.symbol} ${alert.description}`, onclick }, label);
    fill(
      this.controls,
      alert.status === 'active' ? button('Pause', () => this.actions.pause(this)) : null,
      alert.status === 'paused' ? button('Resume', () => this.actions.resume(this)) : null,
      h(
        'button',
        {
          type: 'button',
          class: 'quiet',
          'aria-expanded': String(!this.detailsRow.hidden),
          'aria-label': `History of the alert ${alert.symbol} ${alert.description}`,
          onclick: () => this.actions.toggleHistory(this),
        },
        'History',
      ),
      button('Delete', () => this.actions.remove(this)),
    );
  }
}

function factList(pairs) {
  return h('dl', { class: 'facts' }, pairs.flatMap(([term, value]) => [h('dt', {}, term), h('dd', {}, value)]));
}

function frequencyText(frequency) {
  if (frequency.kind === 'once') return 'Once';
  return `Every time (cooldown ${frequency.cooldown_seconds} s, re-arm band ${frequency.hysteresis_pct}%)`;
}

function historyView(alert, fires) {
  return h(
    'div',
    { class: 'alert-history' },
    factList([
      ['Frequency', frequencyText(alert.frequency)],
      ['Armed', alert.armed ? 'Yes' : 'No, until the price moves back'],
      ['Fired', String(alert.fire_count)],
      ['Last fired', alert.last_triggered_at ? format.dateTime(alert.last_triggered_at) : 'Never'],
      ['Last price seen', format.price(alert.last_price)],
      ['Expires', alert.expires_at ? format.dateTime(alert.expires_at) : 'Never'],
      ['Note', alert.note || '—'],
    ]),
    h('h3', {}, 'Fires'),
    fires.length
      ? h(
          'ol',
          { class: 'alert-fires' },
          fires.map((each) => h('li', {}, h('time', { datetime: each.created_at }, format.dateTime(each.created_at)), ` ${each.title}: ${each.body}`)),
        )
      : empty('It has not fired yet.'),
  );
}

export function mount(view, context) {
  const { api, live, query, signal } = context;
  const rows = new Map();
  let nextCursor = null;
  const initialSymbol = (query.get('symbol') ?? DEFAULT_SYMBOL).toUpperCase();
  const formFeedback = h('div', { class: 'feedback', 'aria-live': 'polite' });
  const listFeedback = h('div', { class: 'feedback', 'aria-live': 'polite' });
  const listHolder = h('div', { class: 'table-scroll' });
  const more = h('button', { type: 'button', hidden: true }, 'Show more alerts');
  const form = new AlertForm({ symbol: initialSymbol, onChange: () => preview.update(), onSubmit: create });
  form.prefill(query);
  const preview = new PreviewChart(form, { api, signal });
  const channels = new ChannelsSection(context);

  append(
    view,
    h('h1', { tabindex: '-1' }, 'Alerts'),
    section(
      'New alert',
      h('div', { class: 'alert-create' }, h('div', { class: 'alert-create-form' }, form.element, formFeedback), preview.element),
      h('p', { class: 'attribution' }, 'Charts by ', h('a', { href: 'https://www.tradingview.com/', rel: 'noopener noreferrer', target: '_blank' }, 'TradingView'), ' Lightweight Charts'),
    ),
    section('Your alerts', listFeedback, listHolder, more),
    channels.element,
  );

  let symbolTimer = null;
  form.symbol.addEventListener('input', () => {
    clearTimeout(symbolTimer);
    symbolTimer = setTimeout(() => {
      const symbol = form.symbolValue;
      if (SYMBOL.test(symbol)) preview.load(symbol);
    }, SYMBOL_SETTLE_MS);
  });

  function table() {
    if (rows.size === 0) {
      fill(listHolder, empty('You have no alerts yet: set one above.'));
      return;
    }
    const body = h('tbody', {}, [...rows.values()].map((row) => [row.element, row.detailsRow]));
    fill(
      listHolder,
      h(
        'table',
        { class: 'data alerts' },
        h('caption', { class: 'visually-hidden' }, 'Your alerts, newest first'),
        h('thead', {}, h('tr', {}, ['Symbol', 'Condition', 'Status', 'Created', 'Actions'].map((name) => h('th', { scope: 'col' }, name)))),
        body,
      ),
    );
  }

  async function run(action, done) {
    fill(listFeedback);
    try {
      const result = await action();
      if (done) fill(listFeedback, h('p', { class: 'status' }, done));
      return result;
    } catch (error) {
      if (error.name !== 'AbortError') fill(listFeedback, problem(error));
      return null;
    }
  }

  async function showHistory(row) {
    fill(row.details, loading('Loading its history'));
    try {
      const [alert, inbox] = await Promise.all([
        api.get(`/alerts/${encodeURIComponent(row.id)}`, { signal }),
        api.get('/notifications', { query: { limit: 100 }, signal }),
      ]);
      row.show({ ...row.item, ...alert });
      const fires = inbox.items.filter((each) => each.link === alert.link);
      fill(row.details, historyView(alert, fires));
    } catch (error) {
      if (error.name !== 'AbortError') fill(row.details, problem(error));
    }
  }

  const actions = {
    async pause(row) {
      const alert = await run(() => api.post(`/alerts/${encodeURIComponent(row.id)}/pause`, undefined, { signal }), `Paused ${row.item.symbol} ${row.item.description}.`);
      if (alert) row.show({ ...row.item, ...alert });
    },
    async resume(row) {
      const alert = await run(() => api.post(`/alerts/${encodeURIComponent(row.id)}/resume`, undefined, { signal }), `Resumed ${row.item.symbol} ${row.item.description}.`);
      if (alert) row.show({ ...row.item, ...alert });
    },
    async remove(row) {
      const deleted = await run(async () => {
        await api.delete(`/alerts/${encodeURIComponent(row.id)}`, { signal });
        return true;
      }, `Deleted ${row.item.symbol} ${row.item.description}.`);
      if (deleted) {
        rows.delete(row.id);
        table();
      }
    },
    toggleHistory(row) {
      row.detailsRow.hidden = !row.detailsRow.hidden;
      row.show(row.item);
      if (!row.detailsRow.hidden) showHistory(row);
    },
  };

  function addRows(items, { first = false } = {}) {
    const fresh = items.filter((item) => !rows.has(item.alert_id)).map((item) => new AlertRow(item, actions));
    for (const item of items) rows.get(item.alert_id)?.show({ ...rows.get(item.alert_id).item, ...item });
    const entries = fresh.map((row) => [row.id, row]);
    const merged = first ? [...entries, ...rows] : [...rows, ...entries];
    rows.clear();
    for (const [id, row] of merged) rows.set(id, row);
    table();
  }

  async function loadPage(cursor) {
    if (!cursor) fill(listHolder, loading('Loading your alerts'));
    more.disabled = true;
    try {
      const page = await api.get('/alerts', { query: { limit: PAGE_SIZE, cursor }, signal });
      if (!cursor) rows.clear();
      addRows(page.items);
      nextCursor = page.next_cursor;
      more.hidden = !nextCursor;
    } catch (error) {
      if (error.name !== 'AbortError') fill(cursor ? listFeedback : listHolder, problem(error));
    } finally {
      more.disabled = false;
    }
  }
  more.addEventListener('click', () => loadPage(nextCursor));

  async function create(body) {
    form.busy(true);
    fill(formFeedback, loading('Setting the alert'));
    try {
      const alert = await api.post('/alerts', body, { signal });
      addRows([alert], { first: true });
      fill(formFeedback, h('p', { class: 'status alert-created' }, `Alert set: ${alert.symbol} ${alert.description}.`));
    } catch (error) {
      if (error.name !== 'AbortError') fill(formFeedback, problem(error));
    } finally {
      form.busy(false);
    }
  }

  async function refreshAlert(id) {
    const row = rows.get(id);
    if (!row) return;
    try {
      const alert = await api.get(`/alerts/${encodeURIComponent(id)}`, { signal });
      row.show({ ...row.item, ...alert });
      if (!row.detailsRow.hidden) showHistory(row);
    } catch (error) {
      if (error.name !== 'AbortError' && error.status === 404) {
        rows.delete(id);
        table();
      }
    }
  }

  const unsubscribe = live.subscribe('notifications', (frame) => {
    const found = ALERT_LINK.exec(frame.data?.link ?? '');
    if (frame.data?.kind === 'alert' && found) refreshAlert(decodeURIComponent(found[1]));
  });
  // What fired while the socket was down: read the list again at each reconnection.
  let opened = live.state === 'live';
  const removeOpen = live.onOpen(() => {
    if (opened) loadPage(null);
    opened = true;
  });

  preview.load(initialSymbol);
  loadPage(null);
  channels.load();
  return () => {
    clearTimeout(symbolTimer);
    unsubscribe();
    removeOpen();
    channels.destroy();
    preview.destroy();
  };
}
