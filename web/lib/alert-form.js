// The form that sets a price alert: every condition notifier offers (a level, a crossing,
// a channel, a percent move within a window), its frequency, expiry and note. `read()`
// gives the request body as the form stands and the price levels the chart previews.

import { h, uniqueId } from './dom.js';
import * as format from './format.js';

export const CONDITIONS = [
  { kind: 'greater_than', label: 'Greater than', fields: 'level', words: 'is above' },
  { kind: 'less_than', label: 'Less than', fields: 'level', words: 'is below' },
  { kind: 'crossing', label: 'Crossing', fields: 'level', words: 'crosses' },
  { kind: 'crossing_up', label: 'Crossing up', fields: 'level', words: 'crosses up through' },
  { kind: 'crossing_down', label: 'Crossing down', fields: 'level', words: 'crosses down through' },
  { kind: 'entering_channel', label: 'Entering channel', fields: 'channel', words: 'enters the channel' },
  { kind: 'exiting_channel', label: 'Exiting channel', fields: 'channel', words: 'exits the channel' },
  { kind: 'moving_up_pct', label: 'Moving up %', fields: 'move', words: 'moves up', sign: 1 },
  { kind: 'moving_down_pct', label: 'Moving down %', fields: 'move', words: 'moves down', sign: -1 },
];

function numberOrNull(input) {
  const text = input.value.trim();
  if (text === '') return null;
  const number = Number(text);
  return Number.isFinite(number) ? number : null;
}

function field(label, input, hint) {
  const id = uniqueId('alert-field');
  input.id = id;
  const hintId = hint ? `${id}-hint` : null;
  if (hintId) input.setAttribute('aria-describedby', hintId);
  return h('div', { class: 'field' }, h('label', { for: id }, label), input, hint ? h('p', { class: 'hint', id: hintId }, hint) : null);
}

function numberInput(name, props = {}) {
  return h('input', { type: 'number', name, step: 'any', inputmode: 'decimal', ...props });
}

function plural(count, unit) {
  return `${count} ${unit}${count === 1 ? '' : 's'}`;
}

/** The alert form; `onChange()` runs at each edit, `onSubmit(body)` when sent. */
export class AlertForm {
  constructor({ symbol, onChange, onSubmit }) {
    this.symbol = h('input', { name: 'symbol', required: true, maxlength: '15', autocomplete: 'off', spellcheck: 'false', autocapitalize: 'characters', value: symbol });
    this.kind = h('select', { name: 'kind' }, CONDITIONS.map(({ kind, label }) => h('option', { value: kind }, label)));
    this.level = numberInput('level', { min: '0' });
    this.low = numberInput('low', { min: '0' });
    this.high = numberInput('high', { min: '0' });
    this.percent = numberInput('percent', { min: '0', value: '5' });
    this.windowMinutes = numberInput('window', { min: '1', step: '1', value: '60' });
    this.once = h('input', { type: 'radio', name: 'frequency', value: 'once', checked: true });
    this.everyTime = h('input', { type: 'radio', name: 'frequency', value: 'every_time' });
    this.cooldown = numberInput('cooldown', { min: '0', step: '1', value: '0' });
    this.hysteresis = numberInput('hysteresis', { min: '0', max: '50', value: '0.5' });
    this.expires = h('input', { type: 'datetime-local', name: 'expires' });
    this.note = h('textarea', { name: 'note', maxlength: '500', rows: '2' });
    this.submit = h('button', { type: 'submit', class: 'primary' }, 'Create alert');

    this.levelFields = h('div', { class: 'alert-fields' }, field('Level', this.level));
    this.channelFields = h('div', { class: 'alert-fields' }, field('Channel low', this.low), field('Channel high', this.high));
    this.moveFields = h(
      'div',
      { class: 'alert-fields' },
      field('Move (%)', this.percent),
      field('Within (minutes)', this.windowMinutes, 'From 1 minute to 30 days (43200 minutes).'),
    );
    this.everyTimeFields = h(
      'div',
      { class: 'alert-fields' },
      field('Cooldown (seconds)', this.cooldown, 'After a fire it stays quiet this long.'),
      field('Re-arm band (%)', this.hysteresis, 'How far the price must move back before it can fire again.'),
    );
    const onceId = uniqueId('once');
    const everyId = uniqueId('every');
    this.once.id = onceId;
    this.everyTime.id = everyId;
    this.element = h(
      'form',
      { class: 'alert-form', novalidate: true },
      h(
        'div',
        { class: 'alert-fields' },
        field('Symbol', this.symbol),
        field('Condition', this.kind),
      ),
      this.levelFields,
      this.channelFields,
      this.moveFields,
      h(
        'fieldset',
        { class: 'choices' },
        h('legend', {}, 'Frequency'),
        h('span', { class: 'choice' }, this.once, h('label', { for: onceId }, 'Once')),
        h('span', { class: 'choice' }, this.everyTime, h('label', { for: everyId }, 'Every time')),
      ),
      this.everyTimeFields,
      h(
        'div',
        { class: 'alert-fields' },
        field('Expires (optional)', this.expires, 'Your local time; after it the alert ends.'),
        field('Note (optional)', this.note, 'Shown with the notification, at most 500 characters.'),
      ),
      this.submit,
    );
    this.element.addEventListener('input', () => {
      this.#showFields();
      onChange();
    });
    this.element.addEventListener('change', () => {
      this.#showFields();
      onChange();
    });
    this.element.addEventListener('submit', (event) => {
      event.preventDefault();
      onSubmit(this.body());
    });
    this.#showFields();
  }

  get condition() {
    return CONDITIONS.find((each) => each.kind === this.kind.value);
  }

  /** Fill the condition from a link's query (`kind`, `level`, `low`, `high`, `percent`),
   * as the chat offers an alert it cannot set itself; nothing is sent until the reader
   * creates it. Unknown kinds and values that are not numbers are left out. */
  prefill(query) {
    const kind = query.get('kind');
    if (CONDITIONS.some((each) => each.kind === kind)) this.kind.value = kind;
    for (const name of ['level', 'low', 'high', 'percent']) {
      const value = query.get(name);
      if (value !== null && Number.isFinite(Number(value))) this[name].value = value;
    }
    this.#showFields();
  }

  get symbolValue() {
    return this.symbol.value.trim().toUpperCase();
  }

  #showFields() {
    const { fields } = this.condition;
    this.levelFields.hidden = fields !== 'level';
    this.channelFields.hidden = fields !== 'channel';
    this.moveFields.hidden = fields !== 'move';
    this.everyTimeFields.hidden = !this.everyTime.checked;
  }

  conditionBody() {
    const { kind, fields } = this.condition;
    if (fields === 'level') return { kind, level: numberOrNull(this.level) };
    if (fields === 'channel') return { kind, low: numberOrNull(this.low), high: numberOrNull(this.high) };
    const minutes = numberOrNull(this.windowMinutes);
    return { kind, percent: numberOrNull(this.percent), window_seconds: minutes === null ? null : Math.round(minutes * 60) };
  }

  frequencyBody() {
    if (!this.everyTime.checked) return { kind: 'once' };
    return { kind: 'every_time', cooldown_seconds: numberOrNull(this.cooldown) ?? 0, hysteresis_pct: numberOrNull(this.hysteresis) ?? 0 };
  }

  /** The POST /alerts body as the form stands. */
  body() {
    const body = { symbol: this.symbolValue, condition: this.conditionBody(), frequency: this.frequencyBody() };
    if (this.expires.value) {
      const expiry = new Date(this.expires.value);
      body.expires_at = Number.isNaN(expiry.getTime()) ? this.expires.value : expiry.toISOString();
    }
    const note = this.note.value.trim();
    if (note) body.note = note;
    return body;
  }

  /** The price lines the chart shows for the condition; `reference` is the last price. */
  previewLines(reference) {
    const condition = this.conditionBody();
    const positive = (value) => typeof value === 'number' && value > 0;
    if (this.condition.fields === 'level') return positive(condition.level) ? [{ price: condition.level, title: 'Alert level' }] : [];
    if (this.condition.fields === 'channel') {
      return [
        positive(condition.high) ? { price: condition.high, title: 'Channel high' } : null,
        positive(condition.low) ? { price: condition.low, title: 'Channel low' } : null,
      ].filter(Boolean);
    }
    if (!positive(condition.percent) || !positive(reference)) return [];
    const target = reference * (1 + (this.condition.sign * condition.percent) / 100);
    const sign = this.condition.sign > 0 ? '+' : '−';
    return target > 0 ? [{ price: Number(target.toFixed(4)), title: `${sign}${condition.percent}% from ${format.price(reference)}` }] : [];
  }

  /** The condition in words, for the preview line under the chart. */
  describe() {
    const condition = this.conditionBody();
    const { fields, words } = this.condition;
    const symbol = this.symbolValue || 'The symbol';
    if (fields === 'level') return `${symbol} ${words} ${format.price(condition.level)}`;
    if (fields === 'channel') return `${symbol} ${words} ${format.price(condition.low)} to ${format.price(condition.high)}`;
    const minutes = numberOrNull(this.windowMinutes);
    return `${symbol} ${words} ${condition.percent ?? '—'}% within ${minutes === null ? '—' : plural(minutes, 'minute')}`;
  }

  busy(yes) {
    this.submit.disabled = yes;
  }
}
