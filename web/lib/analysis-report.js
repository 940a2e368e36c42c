// A finished analysis's report as the reader sees it: a chart of each holding's return
// and volatility, the facts computed by code (per-symbol figures, the portfolio's figures
// and risk contributions, the correlation matrix), the narrative written from those
// facts with its numbers marked grounded, its sources and what it cost.

import { markNumbers } from './chat-message.js';
import { h, svg, uniqueId } from './dom.js';
import * as format from './format.js';
import { renderMarkdown } from './markdown.js';

const CHART = { width: 640, label: 96, bars: 400, row: 40, top: 8 };
const usd = new Intl.NumberFormat('en-US', { style: 'currency', currency: 'USD', minimumFractionDigits: 4, maximumFractionDigits: 6 });
const count = new Intl.NumberFormat('en-US');

/** An analysis's status as a badge; a running one with its percent. */
export function statusBadge(status, percent = null) {
  const text = status === 'running' && percent !== null ? `running ${percent}%` : status;
  return h('span', { class: `badge analysis-${status}` }, text);
}

function section(title, ...children) {
  const id = uniqueId('report-section');
  return h('section', { class: 'report-section', 'aria-labelledby': id }, h('h3', { id }, title), ...children);
}

/** A wide table in a region that scrolls sideways, reachable by keyboard to scroll it. */
function scroller(label, table) {
  return h('div', { class: 'table-scroll', tabindex: '0', role: 'region', 'aria-label': label }, table);
}

function figuresTable(caption, className, columns, rows) {
  return scroller(
    caption,
    h(
      'table',
      { class: `data figures ${className}` },
      h('caption', {}, caption),
      h('thead', {}, h('tr', {}, h('th', { scope: 'col' }, 'Figure'), columns.map((name) => h('th', { scope: 'col', class: 'number' }, name)))),
      h(
        'tbody',
        {},
        rows.map(([label, cells, key]) => h('tr', { dataset: { figure: key } }, h('th', { scope: 'row' }, label), cells.map((cell) => h('td', { class: 'number' }, cell)))),
      ),
    ),
  );
}

function smaText(sma) {
  const sides = [
    sma.price_vs_sma_50 ? `${sma.price_vs_sma_50} SMA 50 (${format.price(sma.sma_50)})` : null,
    sma.price_vs_sma_200 ? `${sma.price_vs_sma_200} SMA 200 (${format.price(sma.sma_200)})` : null,
  ].filter(Boolean);
  return sides.length ? sides.join(', ') : '—';
}

function crossText(sma) {
  return sma.trend ? `${sma.trend}${sma.cross_on ? ` on ${format.date(sma.cross_on)}` : ''}` : '—';
}

function stockRows(stocks) {
  const each = (pick) => stocks.map(pick);
  return [
    ['Price', each((s) => `${format.price(s.price)} ${s.currency}`), 'price'],
    ['Change', each((s) => `${format.change(s.change)} (${format.percent(s.change_percent)})`), 'change'],
    ['As of', each((s) => `${format.date(s.as_of)}${s.stale ? ' (stale)' : ''}`), 'as-of'],
    ['Annualised return', each((s) => format.fraction(s.annualised_return)), 'return'],
    ['Volatility (annualised)', each((s) => format.fraction(s.volatility)), 'volatility'],
    ['Beta', each((s) => format.ratio(s.beta)), 'beta'],
    ['Sharpe ratio', each((s) => format.ratio(s.sharpe)), 'sharpe'],
    ['Sortino ratio', each((s) => format.ratio(s.sortino)), 'sortino'],
    ['Maximum drawdown', each((s) => format.fraction(s.max_drawdown)), 'max-drawdown'],
    ['One-day VaR 95%', each((s) => format.fraction(s.var_95)), 'var-95'],
    ['RSI (14)', each((s) => (s.rsi_14 === null ? '—' : `${format.ratio(s.rsi_14)} (${s.rsi_state})`)), 'rsi'],
    ['MACD', each((s) => (s.macd ? `${s.macd.state} (histogram ${format.ratio(s.macd.histogram)})` : '—')), 'macd'],
    ['Price against its averages', each((s) => smaText(s.sma)), 'sma'],
    ['Last moving-average cross', each((s) => crossText(s.sma)), 'cross'],
    ['Period', each((s) => `${format.date(s.start)} to ${format.date(s.end)} (${s.observations} returns)`), 'period'],
  ];
}

function portfolioRows(portfolio) {
  return [
    ['Annualised return', [format.fraction(portfolio.annualised_return)], 'return'],
    ['Volatility (annualised)', [format.fraction(portfolio.volatility)], 'volatility'],
    ['Beta', [format.ratio(portfolio.beta)], 'beta'],
    ['Sharpe ratio', [format.ratio(portfolio.sharpe)], 'sharpe'],
    ['Sortino ratio', [format.ratio(portfolio.sortino)], 'sortino'],
    ['Maximum drawdown', [format.fraction(portfolio.max_drawdown)], 'max-drawdown'],
    ['One-day VaR 95%', [format.fraction(portfolio.var_95)], 'var-95'],
    ['Diversification ratio', [format.ratio(portfolio.diversification_ratio)], 'diversification'],
    ['Largest risk contributor', [portfolio.largest_risk_contributor], 'largest-contributor'],
  ];
}

function contributionsTable(portfolio) {
  return scroller(
    'Holdings and their share of the risk',
    h(
      'table',
      { class: 'data contributions' },
      h('caption', {}, 'Holdings and their share of the risk'),
      h('thead', {}, h('tr', {}, ['Symbol', 'Weight', 'Volatility', 'Share of variance'].map((name, i) => h('th', { scope: 'col', class: i ? 'number' : null }, name)))),
      h(
        'tbody',
        {},
        portfolio.risk_contributions.map((each) =>
          h(
            'tr',
            { dataset: { symbol: each.symbol } },
            h('th', { scope: 'row' }, each.symbol),
            h('td', { class: 'number' }, format.fraction(each.weight)),
            h('td', { class: 'number' }, format.fraction(each.volatility)),
            h('td', { class: 'number' }, format.fraction(each.contribution)),
          ),
        ),
      ),
    ),
  );
}

function strength(value) {
  const size = Math.abs(value);
  if (size >= 0.7) return value > 0 ? 'strong-positive' : 'strong-negative';
  if (size >= 0.3) return value > 0 ? 'positive' : 'negative';
  return 'weak';
}

function correlationTable(correlation) {
  const symbols = Object.keys(correlation);
  return scroller(
    'Correlation of daily returns',
    h(
      'table',
      { class: 'data correlation' },
      h('caption', {}, 'Correlation of daily returns'),
      h('thead', {}, h('tr', {}, h('td', {}), symbols.map((symbol) => h('th', { scope: 'col', class: 'number' }, symbol)))),
      h(
        'tbody',
        {},
        symbols.map((row) =>
          h(
            'tr',
            { dataset: { symbol: row } },
            h('th', { scope: 'row' }, row),
            symbols.map((column) => {
              const value = correlation[row][column];
              return h('td', { class: `number correlation-${strength(value)}` }, format.ratio(value));
            }),
          ),
        ),
      ),
    ),
  );
}

/** Bars of annualised return and volatility for each holding (and the portfolio). */
export function riskChart(stocks, portfolio) {
  const series = stocks.map((s) => ({ label: s.symbol, ret: s.annualised_return, vol: s.volatility }));
  if (portfolio) series.push({ label: 'Portfolio', ret: portfolio.annualised_return, vol: portfolio.volatility });
  const values = series.flatMap((s) => [s.ret, s.vol]);
  const low = Math.min(0, ...values);
  const high = Math.max(0, ...values);
  const span = high - low || 1;
  const x = (value) => CHART.label + ((value - low) / span) * CHART.bars;
  const height = CHART.top * 2 + series.length * CHART.row;
  const zero = x(0);
  const bar = (value, y, kind) => svg('rect', { class: `bar bar-${kind}`, x: Math.min(zero, x(value)).toFixed(1), y, width: Math.max(1, Math.abs(x(value) - zero)).toFixed(1), height: 13 });
  const rows = series.map((s, i) => {
    const y = CHART.top + i * CHART.row;
    return svg(
      'g',
      { class: 'chart-row' },
      svg('text', { x: 0, y: y + 20, class: 'chart-label' }, s.label),
      bar(s.ret, y + 4, 'return'),
      bar(s.vol, y + 19, 'volatility'),
      svg('text', { x: CHART.label + CHART.bars + 12, y: y + 15, class: 'chart-value' }, format.fraction(s.ret)),
      svg('text', { x: CHART.label + CHART.bars + 12, y: y + 30, class: 'chart-value' }, format.fraction(s.vol)),
    );
  });
  const described = series.map((s) => `${s.label}: return ${format.fraction(s.ret)}, volatility ${format.fraction(s.vol)}`).join('; ');
  return h(
    'figure',
    { class: 'risk-chart' },
    h(
      'div',
      { class: 'chart-scroll', tabindex: '0', role: 'region', 'aria-label': 'Chart of annualised return and volatility' },
      svg(
        'svg',
        { viewBox: `0 0 ${CHART.width} ${height}`, role: 'img', 'aria-label': `Annualised return and volatility. ${described}` },
        rows,
        svg('line', { class: 'chart-zero', x1: zero, x2: zero, y1: 0, y2: height }),
      ),
    ),
    h(
      'figcaption',
      {},
      h('span', { class: 'legend legend-return' }, 'Annualised return'),
      h('span', { class: 'legend legend-volatility' }, 'Volatility'),
    ),
  );
}

function passageQuery(passage) {
  return passage.excerpt.replace(/ …$/, '').split(/\s+/).filter(Boolean).slice(0, 12).join(' ');
}

function sources(citations) {
  if (!citations.length) return h('p', { class: 'note' }, 'None of your documents mentions these symbols.');
  return h(
    'ol',
    { class: 'report-sources' },
    citations.map((passage) =>
      h(
        'li',
        { dataset: { documentId: passage.document_id } },
        h('span', { class: 'citation-index' }, `[${passage.n}]`),
        ' ',
        h('a', { href: `#/documents?q=${encodeURIComponent(passageQuery(passage))}` }, passage.filename),
        passage.section ? ` · ${passage.section}` : '',
        h('span', { class: 'citation-text' }, ` — ${passage.excerpt}`),
      ),
    ),
  );
}

function narrative(content) {
  const body = h('div', { class: 'narrative' }, renderMarkdown(content.narrative.text));
  markNumbers(body, content.grounding.numbers.map((n) => ({ ...n, tool: 'the facts' })));
  const { grounded, ungrounded } = content.grounding;
  return [
    content.narrative.offline ? h('p', { class: 'offline-note' }, 'Written by the offline engine from the facts above: no language model is configured.') : null,
    body,
    h('p', { class: 'grounding-summary' }, `${grounded} grounded and ${ungrounded} ungrounded of the numbers checked against the facts.`),
  ];
}

function usageFooter(report) {
  const tokens = report.prompt_tokens + report.completion_tokens;
  return h(
    'footer',
    { class: 'usage' },
    `${count.format(tokens)} tokens (${count.format(report.prompt_tokens)} prompt, ${count.format(report.completion_tokens)} completion) · `,
    report.cost_usd === null ? 'cost unknown' : usd.format(report.cost_usd),
    ` · ${report.model}`,
  );
}

/** The report of a completed analysis (GET /analyses/{id} `report`). */
export function renderReport(report) {
  const { content } = report;
  const { facts } = content;
  const symbols = facts.stocks.map((s) => s.symbol);
  return h(
    'div',
    { class: 'report' },
    h('p', { class: 'summary report-summary' }, report.summary),
    section('Return and volatility', riskChart(facts.stocks, facts.portfolio)),
    section('Per-symbol figures', figuresTable('Figures of each symbol over the horizon', 'per-symbol', symbols, stockRows(facts.stocks))),
    facts.portfolio
      ? section(
          'Portfolio figures',
          figuresTable('Figures of the portfolio over the horizon', 'portfolio', ['Portfolio'], portfolioRows(facts.portfolio)),
          contributionsTable(facts.portfolio),
        )
      : null,
    facts.portfolio ? section('Correlation matrix', correlationTable(facts.portfolio.correlation)) : null,
    section('Narrative', ...narrative(content)),
    section('Sources', sources(content.citations ?? [])),
    usageFooter(report),
  );
}
