// Indicator series over a chart's bars, with the definitions market-data uses for its
// latest values (services/market-data/.../analytics/indicators.py): SMA; EMA by span with
// no bias adjustment (pandas `ewm(span, adjust=False)`); Wilder's RSI; MACD 12/26/9;
// Bollinger bands 20/2 with the population standard deviation. Each function answers
// one value per input position, null where the window is not yet full.

/** Exponential smoothing seeded with the first value, null until `minPeriods` values. */
function smooth(values, alpha, minPeriods) {
  const out = new Array(values.length).fill(null);
  let level = null;
  let seen = 0;
  values.forEach((value, i) => {
    if (value === null) return;
    level = level === null ? value : (1 - alpha) * level + alpha * value;
    seen += 1;
    if (seen >= minPeriods) out[i] = level;
  });
  return out;
}

export function sma(values, window) {
  const out = new Array(values.length).fill(null);
  let sum = 0;
  values.forEach((value, i) => {
    sum += value;
    if (i >= window) sum -= values[i - window];
    if (i >= window - 1) out[i] = sum / window;
  });
  return out;
}

export function ema(values, span) {
  return smooth(values, 2 / (span + 1), span);
}

export function rsi(values, window = 14) {
  const diffs = values.map((value, i) => (i === 0 ? null : value - values[i - 1]));
  const gains = smooth(diffs.map((d) => (d === null ? null : Math.max(d, 0))), 1 / window, window);
  const losses = smooth(diffs.map((d) => (d === null ? null : Math.max(-d, 0))), 1 / window, window);
  return gains.map((gain, i) => {
    if (gain === null) return null;
    const loss = losses[i];
    return loss === 0 ? 100 : 100 - 100 / (1 + gain / loss);
  });
}

export function macd(values, fast = 12, slow = 26, signal = 9) {
  const fastLine = ema(values, fast);
  const slowLine = ema(values, slow);
  const line = fastLine.map((f, i) => (f === null || slowLine[i] === null ? null : f - slowLine[i]));
  const signalLine = ema(line, signal);
  const histogram = line.map((m, i) => (m === null || signalLine[i] === null ? null : m - signalLine[i]));
  return { macd: line, signal: signalLine, histogram };
}

export function bollinger(values, window = 20, deviations = 2) {
  const middle = sma(values, window);
  const upper = new Array(values.length).fill(null);
  const lower = new Array(values.length).fill(null);
  middle.forEach((mean, i) => {
    if (mean === null) return;
    let squares = 0;
    for (let j = i - window + 1; j <= i; j += 1) squares += (values[j] - mean) ** 2;
    const spread = deviations * Math.sqrt(squares / window);
    upper[i] = mean + spread;
    lower[i] = mean - spread;
  });
  return { middle, upper, lower };
}
