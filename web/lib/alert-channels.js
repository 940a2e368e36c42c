// The alerts page's delivery channels (/api/v1/notification-channels): the user's
// webhooks, e-mail addresses and phone numbers, a new one added (a webhook's signing
// secret shown that once), an SMS number verified with its code, a test event, and a
// channel's deliveries log with every attempt and a redeliver button.

import { fill, h, uniqueId } from './dom.js';
import * as format from './format.js';
import { empty, loading, problem } from './status.js';

const BASE = '/notification-channels';
const KINDS = [
  ['alert', 'Alerts'],
  ['analysis', 'Analyses'],
  ['document', 'Documents'],
  ['account', 'Account'],
];
const TYPES = {
  webhook: { label: 'Webhook', field: 'url', destination: 'Webhook URL', input: { type: 'url', placeholder: 'https://example.com/hooks/marketscope' } },
  email: { label: 'E-mail', field: 'email', destination: 'E-mail address', input: { type: 'email', placeholder: 'you@example.com' } },
  sms: { label: 'SMS', field: 'phone', destination: 'Phone number', input: { type: 'tel', placeholder: '+15555550100' } },
};
// After a redelivery the attempt runs from the notifier's queue: the log is read again
// until it shows up.
const REDELIVERY_POLL_MS = 1000;
const REDELIVERY_POLLS = 30;

function path(channel, ...rest) {
  return [BASE, encodeURIComponent(channel.channel_id), ...rest].join('/');
}

function destination(channel) {
  return channel.url ?? channel.email ?? channel.phone ?? '—';
}

function channelName(channel) {
  return `${TYPES[channel.type]?.label ?? channel.type} ${destination(channel)}`;
}

function field(label, input, hint) {
  const id = uniqueId('channel-field');
  input.id = id;
  return h('div', { class: 'field' }, h('label', { for: id }, label), input, hint ? h('p', { class: 'hint' }, hint) : null);
}

function attemptsTable(delivery) {
  if (delivery.attempts.length === 0) return empty('No attempt yet.');
  return h(
    'table',
    { class: 'data attempts' },
    h('caption', { class: 'visually-hidden' }, `Attempts of ${delivery.event_type}`),
    h('thead', {}, h('tr', {}, ['#', 'When', 'Trigger', 'Outcome', 'Status', 'Duration', 'Error or answer'].map((name) => h('th', { scope: 'col' }, name)))),
    h(
      'tbody',
      {},
      delivery.attempts.map((attempt) =>
        h(
          'tr',
          { dataset: { outcome: attempt.outcome } },
          h('td', { class: 'number' }, String(attempt.number)),
          h('td', {}, format.dateTime(attempt.at)),
          h('td', {}, attempt.trigger),
          h('td', {}, h('span', { class: `badge outcome-${attempt.outcome}` }, attempt.outcome)),
          h('td', { class: 'number' }, attempt.status_code === null ? '—' : String(attempt.status_code)),
          h('td', { class: 'number' }, `${attempt.duration_ms} ms`),
          h('td', { class: 'attempt-excerpt' }, attempt.error ?? attempt.response_excerpt ?? ''),
        ),
      ),
    ),
  );
}

/** One channel's deliveries log, newest first. */
class DeliveriesLog {
  constructor(channel, { api, signal }) {
    this.channel = channel;
    this.api = api;
    this.signal = signal;
    this.id = uniqueId('deliveries');
    this.list = h('div', { class: 'deliveries-list' });
    this.feedback = h('div', { class: 'feedback', 'aria-live': 'polite' });
    this.element = h(
      'section',
      { class: 'deliveries', 'aria-labelledby': this.id, dataset: { channelId: channel.channel_id } },
      h('h3', { id: this.id }, `Deliveries to ${channelName(channel)}`),
      this.feedback,
      this.list,
    );
  }

  async load() {
    if (!this.list.firstChild) fill(this.list, loading('Loading the deliveries'));
    try {
      const log = await this.api.get(path(this.channel, 'deliveries'), { query: { limit: 20 }, signal: this.signal });
      this.show(log.items);
      return log.items;
    } catch (error) {
      if (error.name !== 'AbortError') fill(this.list, problem(error));
      return null;
    }
  }

  show(items) {
    if (items.length === 0) {
      fill(this.list, empty('Nothing has been delivered to this channel yet.'));
      return;
    }
    fill(
      this.list,
      items.map((delivery) => {
        const redeliver = h(
          'button',
          { type: 'button', class: 'quiet', 'aria-label': `Redeliver ${delivery.title ?? delivery.event_type}`, onclick: () => this.redeliver(delivery, redeliver) },
          'Redeliver',
        );
        return h(
          'article',
          { class: 'delivery card', dataset: { deliveryId: delivery.delivery_id, status: delivery.status, attempts: String(delivery.attempts.length) } },
          h(
            'p',
            { class: 'delivery-head' },
            h('strong', {}, delivery.title ?? delivery.event_type),
            ' ',
            h('span', { class: `badge delivery-status status-${delivery.status}` }, delivery.status),
            delivery.title ? ` ${delivery.event_type} · ` : ' ',
            format.dateTime(delivery.created_at),
            delivery.next_attempt_at ? ` · next attempt ${format.dateTime(delivery.next_attempt_at)}` : '',
            ' ',
            redeliver,
          ),
          h('div', { class: 'table-scroll' }, attemptsTable(delivery)),
        );
      }),
    );
  }

  async redeliver(delivery, button) {
    button.disabled = true;
    const before = delivery.attempts.length;
    fill(this.feedback, loading('Queueing one more attempt'));
    try {
      await this.api.post(path(this.channel, 'deliveries', encodeURIComponent(delivery.delivery_id), 'redeliver'), undefined, { signal: this.signal });
      for (let poll = 1; poll <= REDELIVERY_POLLS; poll += 1) {
        fill(this.feedback, loading(`Redelivery queued: waiting for the attempt (${poll}/${REDELIVERY_POLLS})`));
        await new Promise((resolve) => setTimeout(resolve, REDELIVERY_POLL_MS));
        if (this.signal.aborted) return;
        const items = await this.load();
        const now = items?.find((each) => each.delivery_id === delivery.delivery_id);
        if (now && now.attempts.length > before) {
          fill(this.feedback, h('p', { class: 'status' }, `Redelivered: attempt ${now.attempts.length}, ${now.attempts.at(-1).outcome}.`));
          return;
        }
      }
      fill(this.feedback, h('p', { class: 'status' }, 'The attempt is queued; it has not run yet.'));
    } catch (error) {
      if (error.name !== 'AbortError') fill(this.feedback, problem(error));
    } finally {
      button.disabled = false;
    }
  }
}

export class ChannelsSection {
  constructor({ api, session, signal }) {
    this.api = api;
    this.kinds = session?.isAdmin ? [...KINDS, ['ops', 'Ops alarms']] : KINDS;
    this.signal = signal;
    this.channels = [];
    this.log = null;
    const headingId = uniqueId('channels');
    this.holder = h('div', { class: 'table-scroll' });
    this.feedback = h('div', { class: 'feedback', 'aria-live': 'polite' });
    this.secret = h('div', { class: 'channel-secret', 'aria-live': 'polite' });
    this.logHolder = h('div', { class: 'deliveries-holder' });
    this.form = this.#addForm();
    this.element = h(
      'section',
      { class: 'panel', 'aria-labelledby': headingId },
      h('h2', { id: headingId }, 'Delivery channels'),
      h('p', { class: 'hint' }, 'Besides your inbox, notifications go out to these.'),
      this.holder,
      this.form,
      this.secret,
      this.feedback,
      this.logHolder,
    );
  }

  #addForm() {
    const type = h('select', { name: 'type' }, Object.entries(TYPES).map(([value, { label }]) => h('option', { value }, label)));
    const target = h('input', { name: 'destination', required: true, autocomplete: 'off' });
    const targetField = field(TYPES.webhook.destination, target);
    const description = h('input', { name: 'description', maxlength: '200', autocomplete: 'off' });
    const kinds = this.kinds.map(([value, label]) => {
      const id = uniqueId('kind');
      const box = h('input', { type: 'checkbox', id, name: 'kinds', value, checked: true });
      return { value, box, element: h('span', { class: 'choice' }, box, h('label', { for: id }, label)) };
    });
    const submit = h('button', { type: 'submit', class: 'primary' }, 'Add channel');
    const showType = () => {
      const chosen = TYPES[type.value];
      targetField.querySelector('label').textContent = chosen.destination;
      for (const [name, value] of Object.entries(chosen.input)) target.setAttribute(name, value);
    };
    type.addEventListener('change', showType);
    showType();
    const form = h(
      'form',
      { class: 'channel-form card', novalidate: true },
      h('h3', {}, 'Add a channel'),
      h('div', { class: 'alert-fields' }, field('Type', type), targetField, field('Description (optional)', description)),
      h('fieldset', { class: 'choices' }, h('legend', {}, 'Notifications it gets'), kinds.map((each) => each.element)),
      submit,
    );
    form.addEventListener('submit', async (event) => {
      event.preventDefault();
      const chosen = TYPES[type.value];
      const body = { type: type.value, [chosen.field]: target.value.trim(), kinds: kinds.filter((each) => each.box.checked).map((each) => each.value) };
      if (description.value.trim()) body.description = description.value.trim();
      submit.disabled = true;
      fill(this.feedback, loading('Adding the channel'));
      fill(this.secret);
      try {
        const made = await this.api.post(BASE, body, { signal: this.signal });
        fill(this.feedback, h('p', { class: 'status' }, `Added ${channelName(made.channel)}${made.channel.status === 'pending_verification' ? ': it waits for verification' : ''}.`));
        if (made.secret) this.#showSecret(made.channel, made.secret);
        target.value = '';
        description.value = '';
        await this.load();
      } catch (error) {
        if (error.name !== 'AbortError') fill(this.feedback, problem(error));
      } finally {
        submit.disabled = false;
      }
    });
    return form;
  }

  #showSecret(channel, secret) {
    fill(
      this.secret,
      h(
        'div',
        { class: 'card secret-card' },
        h('p', {}, h('strong', {}, 'Signing secret'), ` of ${channelName(channel)}: copy it now, it is not shown again.`),
        h('p', {}, h('code', { class: 'secret', dataset: { channelId: channel.channel_id } }, secret)),
        h('p', { class: 'hint' }, 'Check each request with it as Standard Webhooks says (webhook-id, webhook-timestamp, webhook-signature).'),
      ),
    );
  }

  async load() {
    if (!this.holder.firstChild) fill(this.holder, loading('Loading your channels'));
    try {
      const list = await this.api.get(BASE, { signal: this.signal });
      this.channels = list.items;
      this.#render();
    } catch (error) {
      if (error.name !== 'AbortError') fill(this.holder, problem(error));
    }
  }

  #render() {
    if (this.channels.length === 0) {
      fill(this.holder, empty('You have no delivery channels: add one below.'));
      return;
    }
    fill(
      this.holder,
      h(
        'table',
        { class: 'data channels' },
        h('caption', { class: 'visually-hidden' }, 'Your delivery channels'),
        h('thead', {}, h('tr', {}, ['Type', 'Destination', 'Notifications', 'Status', 'Actions'].map((name) => h('th', { scope: 'col' }, name)))),
        h('tbody', {}, this.channels.map((channel) => this.#row(channel))),
      ),
    );
  }

  #row(channel) {
    const name = channelName(channel);
    const button = (label, onclick) => h('button', { type: 'button', class: 'quiet', 'aria-label': `${label}: ${name}`, onclick }, label);
    const verify = channel.type === 'sms' && channel.status === 'pending_verification' ? this.#verifyForm(channel) : null;
    return h(
      'tr',
      { dataset: { channelId: channel.channel_id, status: channel.status } },
      h('td', {}, TYPES[channel.type]?.label ?? channel.type),
      h('td', { class: 'channel-destination' }, destination(channel), channel.description ? h('span', { class: 'hint' }, ` ${channel.description}`) : null),
      h('td', {}, channel.kinds.join(', ')),
      h(
        'td',
        {},
        h('span', { class: `badge channel-status status-${channel.status}` }, channel.status.replace('_', ' ')),
        channel.disabled_reason ? h('span', { class: 'hint' }, ` ${channel.disabled_reason}`) : null,
      ),
      h(
        'td',
        { class: 'alert-actions' },
        verify,
        button('Send test', () => this.#test(channel)),
        button('Deliveries', () => this.#openLog(channel)),
        channel.status === 'disabled' ? button('Enable', () => this.#change(channel, { enabled: true }, `Enabled ${name}.`)) : null,
        channel.type === 'webhook' ? button('Rotate secret', () => this.#rotate(channel)) : null,
        button('Delete', () => this.#remove(channel)),
      ),
    );
  }

  #verifyForm(channel) {
    const code = h('input', { name: 'code', inputmode: 'numeric', pattern: '[0-9]{6}', maxlength: '6', autocomplete: 'one-time-code', size: '7' });
    const id = uniqueId('code');
    code.id = id;
    const form = h(
      'form',
      { class: 'inline-form verify-form' },
      h('label', { for: id }, 'Code sent by SMS'),
      code,
      h('button', { type: 'submit' }, 'Verify'),
      h('button', { type: 'button', class: 'quiet', onclick: () => this.#run(() => this.api.post(path(channel, 'resend-code'), undefined, { signal: this.signal }), 'A new code is on its way.') }, 'Send a new code'),
    );
    form.addEventListener('submit', (event) => {
      event.preventDefault();
      this.#run(() => this.api.post(path(channel, 'verify'), { code: code.value.trim() }, { signal: this.signal }), `Verified ${channelName(channel)}.`, true);
    });
    return form;
  }

  async #run(action, done, reload = false) {
    fill(this.feedback, loading('Working'));
    try {
      const result = await action();
      fill(this.feedback, h('p', { class: 'status' }, done));
      if (reload) await this.load();
      return result;
    } catch (error) {
      if (error.name !== 'AbortError') fill(this.feedback, problem(error));
      return null;
    }
  }

  #change(channel, body, done) {
    return this.#run(() => this.api.request('PATCH', path(channel), { json: body, signal: this.signal }), done, true);
  }

  async #rotate(channel) {
    const made = await this.#run(() => this.api.post(path(channel, 'rotate-secret'), undefined, { signal: this.signal }), `New secret for ${channelName(channel)}; the old one stays valid for 24 hours.`, true);
    if (made?.secret) this.#showSecret(made.channel, made.secret);
  }

  async #remove(channel) {
    await this.#run(() => this.api.delete(path(channel), { signal: this.signal }), `Deleted ${channelName(channel)}.`, true);
    if (this.log?.channel.channel_id === channel.channel_id) {
      this.log = null;
      fill(this.logHolder);
    }
  }

  async #test(channel) {
    fill(this.feedback, loading(`Sending a test event to ${channelName(channel)}`));
    try {
      const delivery = await this.api.post(path(channel, 'test'), undefined, { signal: this.signal });
      const attempt = delivery.attempts.at(-1);
      const outcome = attempt ? `${attempt.outcome}${attempt.status_code ? ` (${attempt.status_code})` : ''}` : delivery.status;
      fill(this.feedback, h('p', { class: 'status test-result' }, `Test event sent to ${channelName(channel)}: ${outcome}.`));
      await this.#openLog(channel);
    } catch (error) {
      if (error.name !== 'AbortError') fill(this.feedback, problem(error));
    }
  }

  async #openLog(channel) {
    if (this.log?.channel.channel_id !== channel.channel_id) {
      this.log = new DeliveriesLog(channel, { api: this.api, signal: this.signal });
      fill(this.logHolder, this.log.element);
    }
    await this.log.load();
  }

  destroy() {
    this.log = null;
  }
}
