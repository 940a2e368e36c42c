// The dashboard: the signed-in user's watchlist (stored by market-data through
// /api/v1/watchlist), each symbol's quote, change and one-month trend, moved live by the
// WebSocket `quotes:<SYMBOL>` channels.

import { append, fill, h, uniqueId } from '../lib/dom.js';
import * as format from '../lib/format.js';
import { sparkline } from '../lib/sparkline.js';
import { empty, loading, problem } from '../lib/status.js';

const SYMBOL = /^[A-Z0-9^][A-Z0-9.\-^=]{0,14}$/;
const TREND_PERIOD = '1mo';
const TREND_LABEL = 'One-month';

export const title = () => 'Dashboard';

function changeCell(cell, value, text) {
  const trend = format.direction(value);
  cell.className = `number ${trend}`;
  const arrow = { up: '▲', down: '▼', flat: '' }[trend];
  fill(cell, arrow ? h('span', { class: 'arrow', 'aria-hidden': 'true' }, arrow) : null, text);
}

class WatchlistRow {
  constructor(symbol, onRemove) {
    this.symbol = symbol;
    this.closes = [];
    this.lastDay = null;
    this.price = h('td', { class: 'number price' }, '…');
    this.change = h('td', { class: 'number' });
    this.changePercent = h('td', { class: 'number' });
    this.trend = h('td', { class: 'trend' });
    this.asOf = h('td', { class: 'as-of' });
    this.element = h(
      'tr',
      { dataset: { symbol } },
      h('th', { scope: 'row' }, h('a', { href: `#/symbols/${encodeURIComponent(symbol)}` }, symbol)),
      this.price,
      this.change,
      this.changePercent,
      this.trend,
      this.asOf,
      h('td', {}, h('button', { type: 'button', class: 'quiet', 'aria-label': `Remove ${symbol}`, onclick: () => onRemove(symbol) }, 'Remove')),
    );
  }

  showQuote({ price, change, change_percent: changePercent, as_of: asOf, stale }) {
    this.price.textContent = format.price(price);
    changeCell(this.change, change, format.change(change));
    changeCell(this.changePercent, changePercent, format.percent(changePercent));
    this.asOf.textContent = `${format.date(asOf)}${stale ? ' (stale)' : ''}`;
  }

  showFailure(detail) {
    this.price.textContent = '—';
    this.asOf.textContent = detail;
  }

  showTrend(bars) {
    this.closes = bars.map((bar) => bar.close);
    this.lastDay = bars.at(-1)?.date ?? null;
    fill(this.trend, sparkline(this.closes, TREND_LABEL));
  }

  /** A QuoteUpdated from the socket (prices are decimal strings there). */
  tick(frame) {
    const data = frame.data;
    const price = Number(data.price);
    this.showQuote({ price, change: data.change, change_percent: data.change_percent, as_of: data.as_of, stale: false });
    const day = data.as_of.slice(0, 10);
    if (this.closes.length) {
      if (day === this.lastDay) this.closes[this.closes.length - 1] = price;
      else if (this.lastDay === null || day > this.lastDay) {
        this.closes.push(price);
        this.lastDay = day;
      }
      fill(this.trend, sparkline(this.closes, TREND_LABEL));
    }
    this.element.dataset.tick = frame.event_id;
    const moved = format.direction(data.change);
    this.element.classList.remove('tick-up', 'tick-down', 'tick-flat');
    void this.element.offsetWidth; // restart the highlight animation
    this.element.classList.add(`tick-${moved}`);
  }
}

export function mount(view, { api, live, signal }) {
  const rows = new Map();
  const subscriptions = new Map();
  let symbols = [];
  const inputId = uniqueId('symbol');
  const headingId = uniqueId('watchlist');
  const feedback = h('div', { class: 'feedback', 'aria-live': 'polite' });
  const holder = h('div', { class: 'table-scroll' });
  const input = h('input', {
    id: inputId,
    name: 'symbol',
    required: true,
    maxlength: '15',
    autocomplete: 'off',
    spellcheck: 'false',
    autocapitalize: 'characters',
    placeholder: 'e.g. AAPL',
  });
  const addButton = h('button', { type: 'submit', class: 'primary' }, 'Add');
  const form = h('form', { class: 'inline-form' }, h('label', { for: inputId }, 'Add a symbol'), input, addButton);

  append(
    view,
    h('h1', { tabindex: '-1' }, 'Dashboard'),
    h('section', { 'aria-labelledby': headingId }, h('h2', { id: headingId }, 'Watchlist'), form, feedback, holder),
  );

  function subscribeAll() {
    for (const [symbol, unsubscribe] of subscriptions) {
      if (!symbols.includes(symbol)) {
        unsubscribe();
        subscriptions.delete(symbol);
      }
    }
    for (const symbol of symbols) {
      if (!subscriptions.has(symbol)) {
        subscriptions.set(symbol, live.subscribe(`quotes:${symbol}`, (frame) => rows.get(symbol)?.tick(frame)));
      }
    }
  }

  async function fillQuotes(wanted) {
    try {
      const batch = await api.get('/quotes', { query: { symbols: wanted.join(',') }, signal });
      for (const quote of batch.quotes) rows.get(quote.symbol)?.showQuote(quote);
      for (const failure of batch.errors) rows.get(failure.symbol)?.showFailure(failure.detail);
    } catch (error) {
      if (error.name === 'AbortError') return;
      fill(feedback, problem(error));
    }
  }

  async function fillTrend(row) {
    try {
      const history = await api.get(`/history/${encodeURIComponent(row.symbol)}`, { query: { period: TREND_PERIOD, interval: '1d' }, signal });
      row.showTrend(history.bars);
    } catch (error) {
      if (error.name !== 'AbortError') row.trend.textContent = 'No history';
    }
  }

  function render() {
    subscribeAll();
    if (symbols.length === 0) {
      fill(holder, empty('Your watchlist is empty: add a symbol above.'));
      return;
    }
    const body = h('tbody');
    const added = [];
    for (const symbol of symbols) {
      if (!rows.has(symbol)) {
        rows.set(symbol, new WatchlistRow(symbol, remove));
        added.push(symbol);
      }
      body.append(rows.get(symbol).element);
    }
    for (const symbol of rows.keys()) if (!symbols.includes(symbol)) rows.delete(symbol);
    const headers = ['Symbol', 'Price', 'Change', 'Change %', 'One-month trend', 'As of', 'Actions'];
    fill(
      holder,
      h(
        'table',
        { class: 'data watchlist' },
        h('caption', { class: 'visually-hidden' }, 'Your watchlist, with live prices'),
        h('thead', {}, h('tr', {}, headers.map((name) => h('th', { scope: 'col' }, name)))),
        body,
      ),
    );
    if (added.length) {
      fillQuotes(added);
      for (const symbol of added) fillTrend(rows.get(symbol));
    }
  }

  async function save(next, done) {
    addButton.disabled = true;
    fill(feedback);
    try {
      const saved = await api.put('/watchlist', { symbols: next }, { signal });
      symbols = saved.symbols;
      render();
      fill(feedback, h('p', { class: 'status' }, done));
      return true;
    } catch (error) {
      if (error.name !== 'AbortError') fill(feedback, problem(error), suggestions(error));
      return false;
    } finally {
      addButton.disabled = false;
    }
  }

  // An unknown symbol where the market data is a closed list (the offline replay): the
  // problem names the symbols there are; each becomes a button that adds it.
  function suggestions(error) {
    const known = error.extensions?.known_symbols;
    if (!Array.isArray(known)) return null;
    const addable = known.filter((symbol) => typeof symbol === 'string' && !symbols.includes(symbol));
    if (!addable.length) return null;
    return h(
      'p',
      { class: 'suggestions' },
      'Symbols with data here: ',
      addable.map((symbol) =>
        h('button', { type: 'button', class: 'quiet', 'aria-label': `Add ${symbol}`, onclick: () => add(symbol) }, symbol),
      ),
    );
  }

  async function add(symbol) {
    if (await save([...symbols, symbol], `Added ${symbol}.`)) input.value = '';
  }

  function remove(symbol) {
    save(symbols.filter((each) => each !== symbol), `Removed ${symbol}.`);
  }

  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    const symbol = input.value.trim().toUpperCase();
    if (!SYMBOL.test(symbol)) {
      fill(feedback, problem({ title: 'Not a symbol', detail: 'Use letters, digits and . - ^ = (at most 15), e.g. AAPL.' }));
      return;
    }
    if (symbols.includes(symbol)) {
      fill(feedback, h('p', { class: 'status' }, `${symbol} is already on your watchlist.`));
      return;
    }
    await add(symbol);
  });

  async function load() {
    fill(holder, loading('Loading your watchlist'));
    try {
      symbols = (await api.get('/watchlist', { signal })).symbols;
      render();
    } catch (error) {
      if (error.name !== 'AbortError') fill(holder, problem(error));
    }
  }

  load();
  return () => {
    for (const unsubscribe of subscriptions.values()) unsubscribe();
  };
}
