// The ops page, for admins: every service's readiness with its checks, each service's
// queue and dead-letter queue (with a redrive back to the queue), event lag, every
// service's API latency and error rate per route over 5 or 60 minutes, and the
// gateway's recent errors with their trace ids. What the backend cannot measure is
// shown as not measured. A reader who is not an admin is told so, and nothing is asked.

import { fill, h, uniqueId } from '../lib/dom.js';
import * as format from '../lib/format.js';
import { empty, loading, problem } from '../lib/status.js';

const STATUS_LABELS = { ready: 'Ready', 'not-ready': 'Not ready', unreachable: 'Unreachable', unexpected: 'Unexpected answer' };
const RECENT_ERRORS = 50;

export const title = () => 'Ops';

function section(heading, ...children) {
  const id = uniqueId('ops');
  return h('section', { class: 'panel ops-section', 'aria-labelledby': id }, h('h2', { id }, heading), ...children);
}

function milliseconds(value) {
  return value === null || value === undefined ? '–' : `${value.toLocaleString('en-US', { maximumFractionDigits: 1 })} ms`;
}

function count(value) {
  return value === null || value === undefined ? '–' : value.toLocaleString('en-US');
}

function statusBadge(status) {
  return h('span', { class: `badge ops-status ops-${status}` }, STATUS_LABELS[status] ?? status);
}

function checkList(checks) {
  if (!checks.length) return h('span', { class: 'note' }, 'no checks reported');
  return h(
    'ul',
    { class: 'ops-checks' },
    checks.map((check) =>
      h(
        'li',
        { class: check.ok ? 'ops-check ok' : 'ops-check failed', dataset: { check: check.name } },
        h('span', { class: 'ops-check-mark', 'aria-hidden': 'true' }, check.ok ? '✓' : '✗'),
        h('span', { class: 'visually-hidden' }, check.ok ? 'passed: ' : 'failed: '),
        check.name,
        check.error ? ` (${check.error})` : null,
      ),
    ),
  );
}

function healthTable(services) {
  return h(
    'div',
    { class: 'table-scroll' },
    h(
      'table',
      { class: 'data ops-health' },
      h('thead', {}, h('tr', {}, h('th', { scope: 'col' }, 'Service'), h('th', { scope: 'col' }, 'Readiness'), h('th', { scope: 'col' }, 'Checks'), h('th', { scope: 'col', class: 'number' }, 'Answered in'))),
      h(
        'tbody',
        {},
        services.map((service) =>
          h(
            'tr',
            { dataset: { service: service.service, status: service.status } },
            h('th', { scope: 'row' }, service.service),
            h('td', { dataset: { label: 'Readiness' } }, statusBadge(service.status), service.detail ? h('p', { class: 'note' }, service.detail) : null),
            h('td', { dataset: { label: 'Checks' } }, checkList(service.checks)),
            h('td', { class: 'number', dataset: { label: 'Answered in' } }, milliseconds(service.duration_ms)),
          ),
        ),
      ),
    ),
  );
}

function depth(queue) {
  if (!queue.exists) return h('span', { class: 'note' }, 'missing');
  return h('span', {}, count(queue.visible), h('span', { class: 'note' }, ` (${count(queue.in_flight)} in flight)`));
}

function lag(measure) {
  if (!measure.measured) return h('span', { class: 'note ops-not-measured' }, measure.note);
  return h('span', {}, `p50 ${milliseconds(measure.p50_ms)} · p95 ${milliseconds(measure.p95_ms)} · p99 ${milliseconds(measure.p99_ms)}`, h('span', { class: 'note' }, ` (${measure.note})`));
}

function queueTable(services, onRedrive) {
  return h(
    'div',
    { class: 'table-scroll' },
    h(
      'table',
      { class: 'data ops-queues' },
      h(
        'thead',
        {},
        h('tr', {}, h('th', { scope: 'col' }, 'Service'), h('th', { scope: 'col' }, 'Queue'), h('th', { scope: 'col' }, 'Waiting'), h('th', { scope: 'col' }, 'Dead letters'), h('th', { scope: 'col' }, 'Event lag'), h('th', { scope: 'col' }, h('span', { class: 'visually-hidden' }, 'Actions'))),
      ),
      h(
        'tbody',
        {},
        services.map((entry) => {
          const dead = (entry.dlq.visible ?? 0) + (entry.dlq.in_flight ?? 0);
          const button = h('button', { type: 'button', 'aria-label': `Redrive ${entry.service} DLQ`, disabled: !entry.dlq.exists || !dead }, 'Redrive');
          button.addEventListener('click', () => onRedrive(entry, button));
          return h(
            'tr',
            { dataset: { service: entry.service, dead: String(dead) } },
            h('th', { scope: 'row' }, entry.service),
            h('td', { dataset: { label: 'Queue' } }, h('code', {}, entry.queue.name)),
            h('td', { class: 'ops-queue-depth', dataset: { label: 'Waiting' } }, depth(entry.queue)),
            h('td', { class: dead ? 'ops-dlq-depth has-dead' : 'ops-dlq-depth', dataset: { label: 'Dead letters' } }, depth(entry.dlq), h('div', { class: 'note' }, h('code', {}, entry.dlq.name))),
            h('td', { dataset: { label: 'Event lag' } }, lag(entry.event_lag)),
            h('td', { class: 'ops-action' }, button),
          );
        }),
      ),
    ),
  );
}

function percentiles(figure) {
  if (!figure || !figure.count) return h('span', { class: 'note' }, 'nothing recorded');
  return h(
    'span',
    { class: 'ops-percentiles', dataset: { source: figure.source } },
    `p50 ${milliseconds(figure.p50_ms)} · p95 ${milliseconds(figure.p95_ms)} · p99 ${milliseconds(figure.p99_ms)}`,
    h('span', { class: 'note' }, ` (${count(figure.count)}, ${figure.source === 'cloudwatch' ? 'CloudWatch' : 'the service’s recorder'})`),
  );
}

function rate(value) {
  return value === null || value === undefined ? '–' : `${(value * 100).toLocaleString('en-US', { maximumFractionDigits: 2 })} %`;
}

function routeRows(entry) {
  return entry.routes.map((route) =>
    h(
      'tr',
      { class: 'ops-route', dataset: { service: entry.service, route: route.route } },
      h('td', {}, ''),
      h('td', { dataset: { label: 'Route' } }, h('code', {}, route.route)),
      h('td', { class: 'number', dataset: { label: 'Requests' } }, count(route.requests)),
      h('td', { class: 'number', dataset: { label: 'Error rate' } }, rate(route.error_rate)),
      h('td', { dataset: { label: 'Latency' } }, percentiles({ ...route.latency, source: 'recorder' })),
      h('td', {}, ''),
    ),
  );
}

function measurementsTable(report) {
  return [
    h('p', { class: 'note' }, `The last ${report.minutes} minutes. Per route, each service’s own recorder; as a whole, CloudWatch’s percentiles where the backend answers them.`),
    h(
      'div',
      { class: 'table-scroll' },
      h(
        'table',
        { class: 'data ops-measurements' },
        h('thead', {}, h('tr', {}, ['Service', 'Route', 'Requests', 'Error rate', 'API latency', 'Event lag'].map((name) => h('th', { scope: 'col' }, name)))),
        h(
          'tbody',
          {},
          report.services.flatMap((entry) => [
            h(
              'tr',
              { class: 'ops-service', dataset: { service: entry.service, status: entry.status } },
              h('th', { scope: 'row' }, entry.service),
              h('td', { dataset: { label: 'Route' } }, entry.status === 'measured' ? 'every route' : h('span', { class: 'note' }, entry.detail ?? 'unreachable')),
              h('td', { class: 'number', dataset: { label: 'Requests' } }, count(entry.requests)),
              h('td', { class: 'number', dataset: { label: 'Error rate' } }, rate(entry.error_rate)),
              h('td', { class: 'ops-api-latency', dataset: { label: 'API latency' } }, percentiles(entry.api_latency)),
              h('td', { class: 'ops-event-lag', dataset: { label: 'Event lag' } }, percentiles(entry.event_lag)),
            ),
            ...routeRows(entry),
          ]),
        ),
      ),
    ),
  ];
}

function contextLine(context) {
  const entries = Object.entries(context ?? {});
  if (!entries.length) return null;
  return h('p', { class: 'note ops-error-context' }, entries.map(([name, value]) => `${name}: ${value}`).join(' · '));
}

function errorList(report) {
  if (!report.errors.length) return empty('No warnings or errors since the gateway started.');
  return [
    h('p', { class: 'note' }, `Newest first: ${report.errors.length} shown of ${count(report.seen)} recorded (the gateway keeps ${count(report.capacity)}).`),
    h(
      'ol',
      { class: 'ops-errors' },
      report.errors.map((entry) =>
        h(
          'li',
          { class: `ops-error level-${entry.level.toLowerCase()}` },
          h(
            'div',
            { class: 'ops-error-head' },
            h('span', { class: 'badge ops-level' }, entry.level),
            h('time', { datetime: entry.at, class: 'note' }, format.dateTime(entry.at)),
            h('span', { class: 'note' }, entry.logger),
            entry.method && entry.path ? h('code', {}, `${entry.method} ${entry.path}`) : null,
          ),
          h('p', { class: 'ops-error-message' }, entry.exception ? `${entry.exception}: ${entry.message}` : entry.message),
          contextLine(entry.context),
          entry.trace_id
            ? h('p', { class: 'note ops-error-trace' }, 'Trace ', h('code', { title: 'marketscope trace <id> prints it; marketscope logs --trace <id> its lines' }, entry.trace_id))
            : null,
        ),
      ),
    ),
  ];
}

function adminsOnly(view) {
  fill(
    view,
    h('h1', { tabindex: '-1' }, 'Ops'),
    h('div', { class: 'problem ops-admins-only', role: 'alert' }, h('p', { class: 'problem-title' }, 'Admins only'), h('p', { class: 'problem-detail' }, 'This page shows the platform’s health and queues; it needs the admin role, which this account does not have.')),
  );
}

export function mount(view, { api, session, signal }) {
  if (!session.isAdmin) {
    adminsOnly(view);
    return undefined;
  }
  const healthHolder = h('div', { 'aria-live': 'polite' }, loading('Checking every service'));
  const queueHolder = h('div', {}, loading('Reading queue depths'));
  const queueFeedback = h('div', { class: 'feedback', 'aria-live': 'polite' });
  const latencyHolder = h('div', {}, loading('Reading every service’s measurements'));
  const windowChoice = h(
    'select',
    { 'aria-label': 'Window' },
    h('option', { value: '5' }, 'last 5 minutes'),
    h('option', { value: '60' }, 'last 60 minutes'),
  );
  const errorsHolder = h('div', {}, loading('Reading recent errors'));
  const refresh = h('button', { type: 'button' }, 'Refresh');
  const checkedAt = h('p', { class: 'note', 'aria-live': 'polite' });

  fill(
    view,
    h('div', { class: 'ops-head' }, h('h1', { tabindex: '-1' }, 'Ops'), refresh),
    checkedAt,
    section('Service health', healthHolder),
    section('Queues', h('p', { class: 'note ops-oldest' }), queueFeedback, queueHolder),
    section('Latency and errors', h('p', {}, windowChoice), latencyHolder),
    section('Recent errors', errorsHolder),
  );
  const oldestNote = view.querySelector('.ops-oldest');

  async function show(holder, path, render, query) {
    try {
      const report = await api.get(path, { signal, query });
      fill(holder, render(report));
      return report;
    } catch (error) {
      if (error.name !== 'AbortError') fill(holder, problem(error));
      return null;
    }
  }

  async function redrive(entry, button) {
    button.disabled = true;
    fill(queueFeedback, h('p', { class: 'status', role: 'status' }, `Moving ${entry.dlq.name} back to ${entry.queue.name}…`));
    try {
      const moved = await api.post(`/ops/queues/${encodeURIComponent(entry.service)}/redrive`, undefined, { signal });
      fill(queueFeedback, h('p', { class: 'status ops-redriven', role: 'status' }, `Moved ${moved.moved} message(s) from ${moved.dlq} to ${moved.queue}.`));
      await loadQueues();
    } catch (error) {
      if (error.name === 'AbortError') return;
      fill(queueFeedback, problem(error));
      button.disabled = false;
    }
  }

  async function loadQueues() {
    const report = await show(queueHolder, '/ops/queues', (found) => queueTable(found.services, redrive));
    if (report?.services.length) fill(oldestNote, `Age of the oldest message: ${report.services[0].oldest_message_age}.`);
  }

  function loadMeasurements() {
    return show(latencyHolder, '/ops/measurements', measurementsTable, { minutes: windowChoice.value });
  }

  async function loadAll() {
    refresh.disabled = true;
    await Promise.all([
      show(healthHolder, '/ops/health', (report) => healthTable(report.services)),
      loadQueues(),
      loadMeasurements(),
      show(errorsHolder, '/ops/errors', errorList, { limit: RECENT_ERRORS }),
    ]);
    refresh.disabled = false;
    fill(checkedAt, `Checked ${format.dateTime(new Date().toISOString())}.`);
  }

  refresh.addEventListener('click', loadAll);
  windowChoice.addEventListener('change', loadMeasurements);
  loadAll();
  return undefined;
}
