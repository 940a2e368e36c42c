// The symbol page's price chart on TradingView Lightweight Charts: candles and volume in
// the main pane, optional SMA/EMA/Bollinger overlays on the candles, and RSI and MACD in
// panes of their own. Indicator series are computed here from the bars shown
// (indicators.js). The chart's own attribution logo stays off: it injects an inline
// style the Content-Security-Policy refuses; the page carries the attribution instead.

import {
  CandlestickSeries,
  HistogramSeries,
  LineSeries,
  createChart,
} from '../vendor/lightweight-charts/lightweight-charts.standalone.production.mjs';
import { bollinger, ema, macd, rsi, sma } from './indicators.js';

const UP = '#086b32';
const DOWN = '#a81f1f';
const COLOURS = { sma20: '#1f5fbf', sma50: '#8a4baf', ema20: '#b45309', band: '#5f6b7a', rsi: '#6d28d9', macd: '#1f5fbf', signal: '#b45309' };

function line(chart, color, pane = 0, width = 1) {
  return chart.addSeries(
    LineSeries,
    { color, lineWidth: width, priceLineVisible: false, lastValueVisible: false, crosshairMarkerVisible: false },
    pane,
  );
}

function points(bars, values) {
  return values.flatMap((value, i) => (value === null ? [] : [{ time: bars[i].date, value }]));
}

export class PriceChart {
  #container;
  #chart;
  #candles;
  #volume;
  #bars = [];
  #options = {};
  #indicatorSeries = [];
  #interval = '1d';
  #priceLines = [];

  constructor(container) {
    this.#container = container;
    this.#chart = createChart(container, {
      autoSize: true,
      layout: { attributionLogo: false, background: { color: '#ffffff' }, textColor: '#1f2933', fontSize: 12 },
      grid: { vertLines: { color: '#eef1f4' }, horzLines: { color: '#eef1f4' } },
      rightPriceScale: { borderColor: '#d5dbe1' },
      timeScale: { borderColor: '#d5dbe1' },
    });
    this.#candles = this.#chart.addSeries(CandlestickSeries, {
      upColor: UP,
      downColor: DOWN,
      wickUpColor: UP,
      wickDownColor: DOWN,
      borderVisible: false,
    });
    this.#candles.priceScale().applyOptions({ scaleMargins: { top: 0.06, bottom: 0.24 } });
    this.#volume = this.#chart.addSeries(HistogramSeries, {
      priceFormat: { type: 'volume' },
      priceScaleId: 'volume',
      priceLineVisible: false,
      lastValueVisible: false,
    });
    this.#volume.priceScale().applyOptions({ scaleMargins: { top: 0.8, bottom: 0 } });
  }

  /** Bars as market-data answers them: {date, open, high, low, close, volume}, each
   * dated as market-data labels its interval's periods (a day, the week's Friday, the
   * month's last day). */
  setBars(bars, interval = '1d') {
    this.#bars = bars;
    this.#interval = interval;
    this.#candles.setData(bars.map(({ date, open, high, low, close }) => ({ time: date, open, high, low, close })));
    this.#volume.setData(
      bars.map(({ date, open, close, volume }) => ({
        time: date,
        value: volume,
        color: close >= open ? 'rgba(10, 125, 59, 0.35)' : 'rgba(198, 40, 40, 0.35)',
      })),
    );
    this.#drawIndicators();
    this.#chart.timeScale().fitContent();
    this.#measure();
  }

  /** Which indicators show: {sma20, sma50, ema20, bollinger, rsi, macd} booleans. */
  setIndicators(options) {
    this.#options = options;
    this.#drawIndicators();
    this.#measure();
  }

  /** A live price of `day` (YYYY-MM-DD): it moves the last bar when the day is in that
   * bar's period, and opens the next bar when the day is past it (a new session, week or
   * month), so the chart keeps up with the quote above it. Older days change nothing. */
  updateLast(price, day) {
    const last = this.#bars.at(-1);
    if (!last) return;
    const period = periodOf(day, this.#interval);
    if (period < last.date) return;
    if (period > last.date) {
      this.#bars.push({ date: period, open: price, high: price, low: price, close: price, volume: 0 });
      this.#candles.update({ time: period, open: price, high: price, low: price, close: price });
      this.#volume.update({ time: period, value: 0 });
      this.#drawIndicators();
      this.#measure();
      return;
    }
    last.close = price;
    last.high = Math.max(last.high, price);
    last.low = Math.min(last.low, price);
    this.#candles.update({ time: last.date, open: last.open, high: last.high, low: last.low, close: last.close });
    this.#markLast();
  }

  /** Horizontal lines over the candles, [{price, title}], in place of the last ones. */
  setPriceLines(lines) {
    for (const each of this.#priceLines) this.#candles.removePriceLine(each);
    this.#priceLines = lines.map(({ price, title }) =>
      this.#candles.createPriceLine({ price, title, color: COLOURS.ema20, lineWidth: 2, lineStyle: 2, axisLabelVisible: true }),
    );
    // The scale reaches the lines too, so a level far from the price still shows.
    const levels = lines.map((each) => each.price);
    this.#candles.applyOptions({
      autoscaleInfoProvider: (original) => {
        const shown = original();
        if (!shown?.priceRange || levels.length === 0) return shown;
        const { minValue, maxValue } = shown.priceRange;
        return { ...shown, priceRange: { minValue: Math.min(minValue, ...levels), maxValue: Math.max(maxValue, ...levels) } };
      },
    });
    this.#container.dataset.priceLines = this.#candles
      .priceLines()
      .map((each) => each.options().price)
      .join(' ');
  }

  destroy() {
    this.#chart.remove();
  }

  #drawIndicators() {
    for (const series of this.#indicatorSeries) this.#chart.removeSeries(series);
    this.#indicatorSeries = [];
    const bars = this.#bars;
    const closes = bars.map((bar) => bar.close);
    const add = (series, values) => {
      series.setData(points(bars, values));
      this.#indicatorSeries.push(series);
    };
    const chosen = this.#options;
    if (chosen.sma20) add(line(this.#chart, COLOURS.sma20), sma(closes, 20));
    if (chosen.sma50) add(line(this.#chart, COLOURS.sma50), sma(closes, 50));
    if (chosen.ema20) add(line(this.#chart, COLOURS.ema20), ema(closes, 20));
    if (chosen.bollinger) {
      const bands = bollinger(closes);
      add(line(this.#chart, COLOURS.band), bands.upper);
      add(line(this.#chart, COLOURS.band), bands.middle);
      add(line(this.#chart, COLOURS.band), bands.lower);
    }
    let pane = 1;
    if (chosen.rsi) {
      const series = line(this.#chart, COLOURS.rsi, pane, 2);
      series.createPriceLine({ price: 70, color: DOWN, lineWidth: 1, lineStyle: 2, axisLabelVisible: false });
      series.createPriceLine({ price: 30, color: UP, lineWidth: 1, lineStyle: 2, axisLabelVisible: false });
      add(series, rsi(closes));
      pane += 1;
    }
    if (chosen.macd) {
      const lines = macd(closes);
      const histogram = this.#chart.addSeries(HistogramSeries, { priceLineVisible: false, lastValueVisible: false }, pane);
      histogram.setData(
        lines.histogram.flatMap((value, i) =>
          value === null ? [] : [{ time: bars[i].date, value, color: value >= 0 ? 'rgba(10, 125, 59, 0.5)' : 'rgba(198, 40, 40, 0.5)' }],
        ),
      );
      this.#indicatorSeries.push(histogram);
      add(line(this.#chart, COLOURS.macd, pane, 2), lines.macd);
      add(line(this.#chart, COLOURS.signal, pane), lines.signal);
      pane += 1;
    }
    const panes = this.#chart.panes();
    panes.forEach((each, i) => each.setStretchFactor(i === 0 ? 3 : 1));
    this.#container.dataset.panes = String(panes.length);
    this.#container.classList.toggle('with-panes', panes.length > 1);
  }

  /** The last bar's date and close on the container, as `YYYY-MM-DD close`. */
  #markLast() {
    const last = this.#bars.at(-1);
    this.#container.dataset.last = last ? `${last.date} ${last.close}` : '';
  }

  /** What the chart holds and shows, for readers of the page (and its tests). */
  #measure() {
    const count = this.#candles.data().length;
    this.#container.dataset.bars = String(count);
    this.#markLast();
    delete this.#container.dataset.visibleBars;
    requestAnimationFrame(() => {
      const range = this.#chart.timeScale().getVisibleLogicalRange();
      if (!range || count === 0) return;
      const shown = Math.min(count - 1, Math.floor(range.to)) - Math.max(0, Math.ceil(range.from)) + 1;
      this.#container.dataset.visibleBars = String(shown);
    });
  }
}

/** The date of the bar `day` belongs to: the day itself, the Friday that ends its week, or
 * the last day of its month (pandas' W-FRI and ME labels, as market-data resamples). */
export function periodOf(day, interval) {
  if (interval === '1d') return day;
  const date = new Date(`${day}T00:00:00Z`);
  if (interval === '1wk') date.setUTCDate(date.getUTCDate() + ((5 - date.getUTCDay() + 7) % 7));
  else date.setUTCMonth(date.getUTCMonth() + 1, 0);
  return date.toISOString().slice(0, 10);
}
