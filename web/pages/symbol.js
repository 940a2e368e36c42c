// One symbol: its quote (live from `quotes:<SYMBOL>`), a candlestick and volume chart with
// an interval switch, overlays and indicator panes, risk against the benchmark, the
// latest indicators market-data computes, its profile and related documents.

import { PriceChart } from '../lib/chart.js';
import { append, fill, h, uniqueId } from '../lib/dom.js';
import * as format from '../lib/format.js';
import { highlight, terms } from '../lib/highlight.js';
import { empty, loading, problem } from '../lib/status.js';

const BENCHMARK = '^GSPC';
const INTERVALS = [
  { value: '1d', label: 'Daily', period: '6mo' },
  { value: '1wk', label: 'Weekly', period: '2y' },
  { value: '1mo', label: 'Monthly', period: '5y' },
];
const PERIODS = [
  ['3mo', '3 months'],
  ['6mo', '6 months'],
  ['1y', '1 year'],
  ['2y', '2 years'],
  ['5y', '5 years'],
];
const OVERLAYS = [
  ['sma20', 'SMA 20'],
  ['sma50', 'SMA 50'],
  ['ema20', 'EMA 20'],
  ['bollinger', 'Bollinger 20, 2σ'],
];
const PANES = [
  ['rsi', 'RSI 14'],
  ['macd', 'MACD 12, 26, 9'],
];
const ATTRIBUTION = 'TradingView Lightweight Charts, Copyright (с) 2023 TradingView, Inc.';

export const title = ({ symbol }) => symbol.toUpperCase();

function section(heading, ...children) {
  const id = uniqueId('section');
  return h('section', { class: 'panel', 'aria-labelledby': id }, h('h2', { id }, heading), ...children);
}

function table(caption, rows) {
  return h(
    'table',
    { class: 'data figures' },
    h('caption', { class: 'visually-hidden' }, caption),
    h('tbody', {}, rows.map(([name, value]) => h('tr', {}, h('th', { scope: 'row' }, name), h('td', { class: 'number' }, value)))),
  );
}

function checkboxes(legend, options, chosen, onChange) {
  return h(
    'fieldset',
    { class: 'choices' },
    h('legend', {}, legend),
    options.map(([name, label]) => {
      const id = uniqueId(name);
      const box = h('input', { type: 'checkbox', id, name, checked: chosen[name] });
      box.addEventListener('change', () => {
        chosen[name] = box.checked;
        onChange();
      });
      return h('span', { class: 'choice' }, box, h('label', { for: id }, label));
    }),
  );
}

function quoteLine(holder, quote) {
  const trend = format.direction(quote.change);
  const arrow = { up: '▲ ', down: '▼ ', flat: '' }[trend];
  fill(
    holder,
    h('span', { class: 'price' }, format.price(quote.price), ' ', h('span', { class: 'currency' }, quote.currency ?? 'USD')),
    h('span', { class: `change ${trend}` }, arrow, `${format.change(quote.change)} (${format.percent(quote.change_percent)})`),
    h('span', { class: 'as-of' }, `as of ${format.date(quote.as_of)}`),
    quote.source === 'replay' ? h('span', { class: 'badge', title: 'Historical prices replayed day by day' }, 'Replay') : null,
    quote.stale ? h('span', { class: 'badge warning' }, 'Stale') : null,
  );
}

function riskTable(symbol, risk) {
  const metrics = risk.metrics.find((each) => each.symbol === symbol);
  if (!metrics) return empty('No risk figures for this symbol.');
  return table(`Risk of ${symbol} against ${risk.benchmark ?? 'no benchmark'}`, [
    ['Annualised return', format.fraction(metrics.annualised_return)],
    ['Annualised volatility', format.fraction(metrics.annualised_volatility)],
    [`Beta against ${risk.benchmark}`, format.ratio(metrics.beta)],
    ['Sharpe ratio', format.ratio(metrics.sharpe)],
    ['Sortino ratio', format.ratio(metrics.sortino)],
    ['Maximum drawdown', format.fraction(metrics.max_drawdown)],
    ['Value at risk, 95 %, one day', format.fraction(metrics.var_95)],
    ['Daily returns used', String(risk.observations)],
    ['Period', `${format.date(risk.start)} to ${format.date(risk.end)}`],
  ]);
}

function indicatorTable(indicators) {
  const values = indicators.indicators;
  const rows = [
    ['RSI 14', format.ratio(values.rsi_14)],
    ['SMA 20', format.price(values.sma_20)],
    ['SMA 50', format.price(values.sma_50)],
    ['SMA 200', format.price(values.sma_200)],
    ['EMA 12', format.price(values.ema_12)],
    ['EMA 26', format.price(values.ema_26)],
  ];
  if (values.macd) rows.push(['MACD, signal, histogram', `${format.ratio(values.macd.macd)}, ${format.ratio(values.macd.signal)}, ${format.ratio(values.macd.histogram)}`]);
  if (values.bollinger) rows.push(['Bollinger lower, upper', `${format.price(values.bollinger.lower)}, ${format.price(values.bollinger.upper)}`]);
  if (values.atr_14 !== undefined) rows.push(['ATR 14', format.price(values.atr_14)]);
  if (values.cross) rows.push(['Last SMA 50/200 cross', `${values.cross.kind === 'golden' ? 'Golden' : 'Death'} cross, ${format.date(values.cross.on)}`]);
  return append(h('div'), h('p', { class: 'note' }, `Closing ${format.price(indicators.close)} on ${format.date(indicators.as_of)}.`), table('Latest indicators', rows));
}

function profileView(profile) {
  const facts = [
    ['Exchange', profile.exchange],
    ['Sector', profile.sector],
    ['Industry', profile.industry],
    ['Currency', profile.currency],
  ].filter(([, value]) => value);
  return h(
    'div',
    {},
    h('dl', { class: 'facts' }, facts.map(([name, value]) => [h('dt', {}, name), h('dd', {}, value)])),
    profile.website ? h('p', {}, h('a', { href: profile.website, rel: 'noopener noreferrer', target: '_blank' }, profile.website)) : null,
    profile.summary ? h('p', { class: 'summary' }, profile.summary) : null,
  );
}

function relatedView(symbol, documents) {
  if (!documents.length) return empty('None of your documents mentions this symbol yet.');
  const words = terms(symbol);
  return h(
    'ul',
    { class: 'related' },
    documents.map((doc) => {
      const snippet = h('p', { class: 'snippet' }, doc.snippet);
      highlight(snippet, words);
      return h('li', {}, h('p', { class: 'filename' }, doc.filename), snippet);
    }),
  );
}

export function mount(view, { api, live, params, signal }) {
  const symbol = params.symbol.toUpperCase();
  const path = encodeURIComponent(symbol);
  const chosen = { interval: '1d', period: '6mo', sma20: true, sma50: false, ema20: false, bollinger: false, rsi: true, macd: true };
  const name = h('span', { class: 'name' });
  const quote = h('div', { class: 'quote-line' }, loading('Loading the quote'));
  const chartHolder = h('div', { class: 'chart', role: 'img', 'aria-label': `Price chart of ${symbol}` });
  const chartStatus = h('div', { class: 'chart-status', 'aria-live': 'polite' }, loading('Loading the price history'));
  const periodId = uniqueId('period');
  const periodSelect = h(
    'select',
    { id: periodId, name: 'period' },
    PERIODS.map(([value, label]) => h('option', { value, selected: value === chosen.period }, label)),
  );
  const intervals = h(
    'fieldset',
    { class: 'choices segmented' },
    h('legend', {}, 'Interval'),
    INTERVALS.map(({ value, label }) => {
      const id = uniqueId('interval');
      const radio = h('input', { type: 'radio', id, name: 'interval', value, checked: value === chosen.interval });
      radio.addEventListener('change', () => {
        chosen.interval = value;
        chosen.period = INTERVALS.find((each) => each.value === value).period;
        periodSelect.value = chosen.period;
        loadHistory();
      });
      return h('span', { class: 'choice' }, radio, h('label', { for: id }, label));
    }),
  );
  periodSelect.addEventListener('change', () => {
    chosen.period = periodSelect.value;
    loadHistory();
  });
  const chart = new PriceChart(chartHolder);
  const redraw = () => chart.setIndicators(chosen);
  chart.setIndicators(chosen);

  const risk = h('div', {}, loading('Loading risk figures'));
  const indicators = h('div', {}, loading('Loading indicators'));
  const profile = h('div', {}, loading('Loading the profile'));
  const related = h('div', {}, loading('Looking for related documents'));

  append(
    view,
    h('h1', { tabindex: '-1' }, symbol, ' ', name),
    quote,
    section(
      'Price chart',
      h(
        'form',
        { class: 'chart-controls', onsubmit: (event) => event.preventDefault() },
        intervals,
        h('div', { class: 'field' }, h('label', { for: periodId }, 'Period'), periodSelect),
        checkboxes('Overlays', OVERLAYS, chosen, redraw),
        checkboxes('Panes', PANES, chosen, redraw),
      ),
      chartStatus,
      chartHolder,
      h('p', { class: 'attribution' }, 'Charts by ', h('a', { href: 'https://www.tradingview.com/', rel: 'noopener noreferrer', target: '_blank' }, 'TradingView'), `: ${ATTRIBUTION}`),
    ),
    h(
      'div',
      { class: 'columns' },
      section(`Risk against ${BENCHMARK}, one year`, risk),
      section('Latest indicators', indicators),
    ),
    h('div', { class: 'columns' }, section('Profile', profile), section('Related documents', related, h('p', {}, h('a', { href: `#/documents?q=${path}` }, `Search your documents for ${symbol}`)))),
  );

  let historyRequest = 0;
  async function loadHistory() {
    const request = ++historyRequest;
    chartHolder.setAttribute('aria-busy', 'true');
    fill(chartStatus, loading('Loading the price history'));
    try {
      const history = await api.get(`/history/${path}`, { query: { interval: chosen.interval, period: chosen.period }, signal });
      if (request !== historyRequest) return;
      chart.setBars(history.bars, history.interval);
      const interval = INTERVALS.find((each) => each.value === history.interval)?.label ?? history.interval;
      const last = history.bars.at(-1);
      chartHolder.setAttribute(
        'aria-label',
        `${interval} candlestick chart of ${symbol}: ${history.bars.length} bars from ${format.date(history.start)} to ${format.date(history.end)}` +
          (last ? `, last close ${format.price(last.close)}.` : '.'),
      );
      fill(chartStatus, history.bars.length ? null : empty('No bars in this period.'));
    } catch (error) {
      if (error.name !== 'AbortError' && request === historyRequest) fill(chartStatus, problem(error));
    } finally {
      if (request === historyRequest) chartHolder.removeAttribute('aria-busy');
    }
  }

  async function show(holder, load, render) {
    try {
      fill(holder, render(await load()));
    } catch (error) {
      if (error.name !== 'AbortError') fill(holder, problem(error));
    }
  }

  async function loadOverview() {
    try {
      const overview = await api.get(`/stocks/${path}/overview`, { signal });
      const failed = Object.fromEntries(overview.errors.map((each) => [each.part, each]));
      const partProblem = (part) => problem({ title: `${failed[part].service} did not answer`, detail: failed[part].detail });
      fill(quote, overview.quote ? null : partProblem('quote'));
      if (overview.quote) quoteLine(quote, overview.quote);
      fill(indicators, overview.indicators ? indicatorTable(overview.indicators) : partProblem('indicators'));
      fill(related, overview.documents ? relatedView(symbol, overview.documents) : partProblem('documents'));
    } catch (error) {
      if (error.name === 'AbortError') return;
      for (const holder of [quote, indicators, related]) fill(holder, problem(error));
    }
  }

  loadHistory();
  loadOverview();
  show(risk, () => api.get('/risk', { query: { symbols: symbol, benchmark: BENCHMARK, period: '1y' }, signal }), (answer) => riskTable(symbol, answer));
  show(
    profile,
    () => api.get(`/profile/${path}`, { signal }),
    (answer) => {
      name.textContent = answer.name;
      return profileView(answer);
    },
  );

  const unsubscribe = live.subscribe(`quotes:${symbol}`, (frame) => {
    const data = frame.data;
    const price = Number(data.price);
    quoteLine(quote, { price, change: data.change, change_percent: data.change_percent, as_of: data.as_of, currency: data.currency, source: data.provider });
    chart.updateLast(price, data.as_of.slice(0, 10));
  });

  return () => {
    unsubscribe();
    chart.destroy();
  };
}
