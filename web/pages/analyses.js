// Analyses: request a stock or portfolio analysis (chat works it off its queue), and the
// reader's analyses, newest first, a page at a time, their status moved live by the
// WebSocket `analyses` channel.

import { analysisFeed } from '../lib/analysis-feed.js';
import { statusBadge } from '../lib/analysis-report.js';
import { append, fill, h, uniqueId } from '../lib/dom.js';
import * as format from '../lib/format.js';
import { empty, loading, problem } from '../lib/status.js';

const PAGE_SIZE = 20;
const HORIZONS = [
  ['3mo', 'Three months'],
  ['6mo', 'Six months'],
  ['1y', 'One year'],
  ['2y', 'Two years'],
  ['5y', 'Five years'],
];
const DEFAULT_HORIZON = '1y';
const KINDS = [
  ['stock', 'Stock (one symbol)'],
  ['portfolio', 'Portfolio (2 to 25 symbols)'],
];

export const title = () => 'Analyses';

function field(label, control, hint = null) {
  const hintId = hint ? uniqueId('hint') : null;
  if (hintId) control.setAttribute('aria-describedby', hintId);
  return h('div', { class: 'field' }, h('label', { for: control.id }, label), control, hint ? h('p', { class: 'hint', id: hintId }, hint) : null);
}

function listOf(text) {
  return text
    .split(/[\s,]+/)
    .map((part) => part.trim())
    .filter(Boolean);
}

class RequestForm {
  constructor({ api, router, signal }) {
    this.api = api;
    this.router = router;
    this.signal = signal;
    const kindName = uniqueId('kind');
    this.kinds = KINDS.map(([value, label], i) => {
      const id = uniqueId('kind');
      const input = h('input', { type: 'radio', id, name: kindName, value, checked: i === 0 });
      return { input, element: h('div', { class: 'choice' }, input, h('label', { for: id }, label)) };
    });
    this.symbols = h('input', { id: uniqueId('symbols'), name: 'symbols', required: true, autocomplete: 'off', spellcheck: 'false', autocapitalize: 'characters', placeholder: 'e.g. AAPL, MSFT' });
    this.weights = h('input', { id: uniqueId('weights'), name: 'weights', autocomplete: 'off', inputmode: 'decimal', placeholder: 'e.g. 0.6, 0.4' });
    this.benchmark = h('input', { id: uniqueId('benchmark'), name: 'benchmark', autocomplete: 'off', spellcheck: 'false', placeholder: '^GSPC' });
    this.horizon = h('select', { id: uniqueId('horizon'), name: 'horizon' }, HORIZONS.map(([value, label]) => h('option', { value, selected: value === DEFAULT_HORIZON }, label)));
    this.question = h('textarea', { id: uniqueId('question'), name: 'question', rows: '2', maxlength: '2000' });
    this.submit = h('button', { type: 'submit', class: 'primary' }, 'Request analysis');
    this.feedback = h('div', { class: 'feedback', 'aria-live': 'polite' });
    this.element = h(
      'form',
      { class: 'analysis-request' },
      h('fieldset', { class: 'choices' }, h('legend', {}, 'Kind'), this.kinds.map((each) => each.element)),
      h(
        'div',
        { class: 'request-fields' },
        field('Symbols, comma-separated', this.symbols),
        field('Weights, comma-separated (portfolio, optional)', this.weights, 'In the order of the symbols, summing to 1; equal weights when left empty.'),
        field('Benchmark (optional)', this.benchmark, 'Beta is measured against it; the S&P 500 (^GSPC) when left empty.'),
        field('Horizon', this.horizon),
      ),
      field('Question (optional)', this.question),
      this.submit,
      this.feedback,
    );
    this.element.addEventListener('submit', (event) => {
      event.preventDefault();
      this.send();
    });
  }

  body() {
    const kind = this.kinds.find((each) => each.input.checked).input.value;
    const symbols = listOf(this.symbols.value.toUpperCase());
    const body = { kind, symbols, horizon: this.horizon.value };
    const weights = listOf(this.weights.value);
    if (weights.length) {
      const numbers = weights.map(Number);
      if (numbers.some((value) => !Number.isFinite(value))) {
        return { refusal: { title: 'Weights must be numbers', detail: `“${this.weights.value}” is not a list of numbers such as 0.6, 0.4.` } };
      }
      body.weights = numbers;
    }
    if (this.benchmark.value.trim()) body.benchmark = this.benchmark.value.trim().toUpperCase();
    if (this.question.value.trim()) body.question = this.question.value.trim();
    return { body };
  }

  async send() {
    const { body, refusal } = this.body();
    if (refusal) {
      fill(this.feedback, problem(refusal));
      return;
    }
    this.submit.disabled = true;
    fill(this.feedback, h('p', { class: 'status' }, 'Requesting the analysis…'));
    try {
      const queued = await this.api.post('/analyses', body, { signal: this.signal });
      fill(this.feedback);
      this.router.navigate(`/analyses/${encodeURIComponent(queued.analysis_id)}`);
    } catch (error) {
      if (error.name !== 'AbortError') fill(this.feedback, problem(error));
    } finally {
      this.submit.disabled = false;
    }
  }
}

class AnalysisList {
  constructor({ api, signal }) {
    this.api = api;
    this.signal = signal;
    this.items = [];
    this.cursor = null;
    this.percents = new Map();
    this.holder = h('div', { class: 'table-scroll' });
    this.more = h('button', { type: 'button', class: 'quiet', hidden: true, onclick: () => this.load(this.cursor) }, 'Load more analyses');
    this.status = h('div', { class: 'feedback', 'aria-live': 'polite' });
    this.element = h('div', {}, this.status, this.holder, this.more);
  }

  row(item) {
    return h(
      'tr',
      { dataset: { analysisId: item.analysis_id, status: item.status } },
      h('th', { scope: 'row' }, h('a', { href: `#/analyses/${encodeURIComponent(item.analysis_id)}` }, item.title)),
      h('td', {}, item.kind),
      h('td', { class: 'analysis-status' }, statusBadge(item.status, this.percents.get(item.analysis_id) ?? null)),
      h('td', { class: 'analysis-summary' }, item.summary ?? ''),
      h('td', {}, format.dateTime(item.created_at)),
    );
  }

  render() {
    this.more.hidden = !this.cursor;
    if (this.items.length === 0) {
      fill(this.holder, empty('No analyses yet: request one above.'));
      return;
    }
    const headers = ['Analysis', 'Kind', 'Status', 'Summary', 'Requested'];
    fill(
      this.holder,
      h(
        'table',
        { class: 'data analyses' },
        h('caption', { class: 'visually-hidden' }, 'Your analyses, newest first'),
        h('thead', {}, h('tr', {}, headers.map((name) => h('th', { scope: 'col' }, name)))),
        h('tbody', {}, this.items.map((item) => this.row(item))),
      ),
    );
  }

  async load(cursor = null) {
    if (!cursor && this.items.length === 0) fill(this.holder, loading('Loading your analyses'));
    try {
      const page = await this.api.get('/analyses', { query: { limit: PAGE_SIZE, cursor }, signal: this.signal });
      this.items = cursor ? [...this.items, ...page.items] : page.items;
      this.cursor = page.next_cursor;
      fill(this.status);
      this.render();
    } catch (error) {
      if (error.name !== 'AbortError') fill(this.status, problem(error));
    }
  }

  /** An event of the `analyses` channel. */
  heard(frame) {
    const { analysis_id: id } = frame.data;
    const item = this.items.find((each) => each.analysis_id === id);
    if (!item) {
      this.load();
      return;
    }
    if (frame.event === 'AnalysisProgressed') {
      item.status = 'running';
      this.percents.set(id, frame.data.percent);
    } else if (frame.event === 'AnalysisCompleted') {
      Object.assign(item, { status: 'completed', summary: frame.data.summary });
    } else if (frame.event === 'AnalysisFailed') {
      item.status = 'failed';
    }
    this.render();
  }
}

export function mount(view, { api, live, session, router, signal }) {
  const requestHeading = uniqueId('request');
  const listHeading = uniqueId('analyses');
  const form = new RequestForm({ api, router, signal });
  const list = new AnalysisList({ api, signal });
  append(
    view,
    h('h1', { tabindex: '-1' }, 'Analyses'),
    h('section', { class: 'panel', 'aria-labelledby': requestHeading }, h('h2', { id: requestHeading }, 'Request an analysis'), form.element),
    h('section', { class: 'panel', 'aria-labelledby': listHeading }, h('h2', { id: listHeading }, 'Your analyses'), list.element),
  );
  const stopListening = analysisFeed(live, session).listen((frame) => list.heard(frame));
  const removeOpen = live.onOpen(() => list.load());
  list.load();
  return () => {
    stopListening();
    removeOpen();
  };
}
