// How numbers and dates read on every page (en-US, dates of market days in UTC).

const MINUS = '\u2212';
const twoDecimals = new Intl.NumberFormat('en-US', { minimumFractionDigits: 2, maximumFractionDigits: 2 });
const compact = new Intl.NumberFormat('en-US', { notation: 'compact', maximumFractionDigits: 1 });
const day = new Intl.DateTimeFormat('en-US', { dateStyle: 'medium', timeZone: 'UTC' });
const moment = new Intl.DateTimeFormat('en-US', { dateStyle: 'medium', timeStyle: 'short' });

function finite(value) {
  const number = typeof value === 'string' ? Number(value) : value;
  return typeof number === 'number' && Number.isFinite(number) ? number : null;
}

export function direction(value) {
  const number = finite(value);
  if (number === null || number === 0) return 'flat';
  return number > 0 ? 'up' : 'down';
}

function signed(number, text) {
  if (number > 0) return `+${text}`;
  if (number < 0) return `${MINUS}${text}`;
  return text;
}

export function price(value) {
  const number = finite(value);
  return number === null ? '—' : twoDecimals.format(number);
}

export function change(value) {
  const number = finite(value);
  return number === null ? '—' : signed(number, twoDecimals.format(Math.abs(number)));
}

export function percent(value) {
  const number = finite(value);
  return number === null ? '—' : signed(number, `${twoDecimals.format(Math.abs(number))}%`);
}

/** A fraction (0.12) as a percentage (12.00%), signed only when negative. */
export function fraction(value) {
  const number = finite(value);
  if (number === null) return '—';
  const text = `${twoDecimals.format(Math.abs(number) * 100)}%`;
  return number < 0 ? `${MINUS}${text}` : text;
}

export function ratio(value) {
  const number = finite(value);
  return number === null ? '—' : (number < 0 ? MINUS : '') + twoDecimals.format(Math.abs(number));
}

export function volume(value) {
  const number = finite(value);
  return number === null ? '—' : compact.format(number);
}

export function bytes(value) {
  const number = finite(value) ?? 0;
  if (number < 1024) return `${number} B`;
  if (number < 1024 * 1024) return `${(number / 1024).toFixed(1)} KB`;
  return `${(number / 1024 / 1024).toFixed(1)} MB`;
}

/** A market day, 'YYYY-MM-DD' or an ISO time, as its date. */
export function date(value) {
  if (!value) return '—';
  const parsed = new Date(value.length === 10 ? `${value}T00:00:00Z` : value);
  return Number.isNaN(parsed.getTime()) ? value : day.format(parsed);
}

/** An instant in the reader's own time zone. */
export function dateTime(value) {
  const parsed = new Date(value);
  return Number.isNaN(parsed.getTime()) ? '—' : moment.format(parsed);
}
