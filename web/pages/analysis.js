// One analysis: what was asked, a live progress bar fed by the WebSocket `analyses`
// channel while it is queued or running (with a cancel), then, re-read on completion,
// its report; or why it failed.

import { analysisFeed } from '../lib/analysis-feed.js';
import { renderReport, statusBadge } from '../lib/analysis-report.js';
import { append, fill, h, uniqueId } from '../lib/dom.js';
import * as format from '../lib/format.js';
import { loading, problem } from '../lib/status.js';

const ACTIVE = new Set(['queued', 'running']);
// Events missed while the socket was down are caught up by re-reading now and then.
const RECHECK_MS = 5000;
// Chat's read of an analysis may lag its completion event by a moment.
const ENDED_RETRY_MS = 500;
const ENDED_RETRIES = 6;

export const title = () => 'Analysis';

function requestFacts(detail) {
  const weights = detail.weights ? detail.symbols.map((symbol, i) => `${symbol} ${format.fraction(detail.weights[i])}`).join(', ') : detail.symbols.join(', ');
  const rows = [
    ['Kind', detail.kind],
    [detail.weights ? 'Holdings' : 'Symbols', weights],
    ['Benchmark', detail.benchmark],
    ['Horizon', detail.horizon],
    ['Requested', format.dateTime(detail.created_at)],
    detail.finished_at ? ['Finished', format.dateTime(detail.finished_at)] : null,
    detail.question ? ['Question', detail.question] : null,
  ].filter(Boolean);
  return h('dl', { class: 'facts request-facts' }, rows.map(([term, value]) => [h('dt', {}, term), h('dd', {}, value)]));
}

class ProgressPanel {
  constructor(onCancel) {
    const labelId = uniqueId('progress-label');
    this.percent = 0;
    this.bar = h('progress', { class: 'analysis-progress', max: '100', value: '0', 'aria-labelledby': labelId });
    this.label = h('span', { id: labelId }, 'Analysis progress');
    this.message = h('p', { class: 'progress-message', 'aria-live': 'polite' }, 'Waiting for a worker…');
    this.cancel = h('button', { type: 'button', class: 'quiet', onclick: onCancel }, 'Cancel analysis');
    this.feedback = h('div', { class: 'feedback' });
    this.element = h('div', { class: 'progress-panel' }, h('p', { class: 'progress-label' }, this.label, ' ', h('span', { class: 'progress-percent' })), this.bar, this.message, this.cancel, this.feedback);
  }

  show({ percent, message, stage }) {
    if (percent < this.percent) return;
    this.percent = percent;
    this.bar.value = percent;
    this.element.querySelector('.progress-percent').textContent = `${percent}%`;
    this.element.dataset.stage = stage ?? '';
    if (message) this.message.textContent = message;
  }

  finish(text) {
    this.show({ percent: 100, message: text, stage: 'done' });
    this.cancel.hidden = true;
  }
}

export function mount(view, { api, live, session, params, signal }) {
  const id = params.analysis;
  const path = `/analyses/${encodeURIComponent(id)}`;
  const feed = analysisFeed(live, session);
  const heading = h('h1', { tabindex: '-1' }, 'Analysis');
  const statusLine = h('p', { class: 'analysis-status-line' });
  const requestHolder = h('div', {});
  const progressHeading = uniqueId('progress');
  const progress = new ProgressPanel(cancel);
  const progressSection = h('section', { class: 'panel', 'aria-labelledby': progressHeading }, h('h2', { id: progressHeading }, 'Progress'), progress.element);
  const outcome = h('div', { class: 'analysis-outcome' });
  const reportHeading = uniqueId('report');
  const reportHolder = h('div', {});
  const initialLoading = h('div', { class: 'feedback' }, loading('Loading the analysis'));
  const reportSection = h('section', { class: 'panel', 'aria-labelledby': reportHeading, hidden: true }, h('h2', { id: reportHeading }, 'Report'), reportHolder);
  append(
    view,
    h('p', { class: 'breadcrumb' }, h('a', { href: '#/analyses' }, 'All analyses')),
    heading,
    statusLine,
    initialLoading,
    requestHolder,
    progressSection,
    outcome,
    reportSection,
  );

  let status = null;
  let recheck = null;
  let endedRetries = 0;

  function render(detail) {
    status = detail.status;
    heading.textContent = detail.title;
    document.title = `${detail.title} · MarketScope`;
    fill(initialLoading);
    fill(statusLine, statusBadge(detail.status, ACTIVE.has(detail.status) ? progress.percent : null));
    view.dataset.status = detail.status;
    fill(requestHolder, requestFacts(detail));
    if (ACTIVE.has(detail.status)) {
      progressSection.hidden = false;
      if (detail.progress) progress.show(detail.progress);
      const heard = feed.latest(id);
      if (heard.progress) progress.show(heard.progress);
      return;
    }
    clearTimeout(recheck);
    progress.cancel.hidden = true;
    if (detail.status === 'completed') {
      progress.finish('Completed.');
      reportSection.hidden = false;
      fill(reportHolder, renderReport(detail.report));
      fill(outcome);
    } else if (detail.status === 'failed') {
      progressSection.hidden = true;
      const reason = (detail.error?.reason ?? 'no reason was given').replace(/\.$/, '');
      const retry = detail.error?.retryable ? ' It may work if you request it again later.' : '';
      fill(outcome, problem({ title: 'The analysis failed', detail: `${reason}.${retry}` }));
    } else if (detail.status === 'cancelled') {
      progressSection.hidden = true;
      fill(outcome, h('p', { class: 'status' }, 'This analysis was cancelled.'));
    }
  }

  async function load() {
    clearTimeout(recheck);
    try {
      const detail = await api.get(path, { signal });
      render(detail);
      if (!ACTIVE.has(detail.status)) return;
      const ended = feed.latest(id).ended;
      if (ended && endedRetries < ENDED_RETRIES) {
        endedRetries += 1;
        recheck = setTimeout(load, ENDED_RETRY_MS);
      } else recheck = setTimeout(load, RECHECK_MS);
    } catch (error) {
      if (error.name === 'AbortError') return;
      fill(initialLoading, problem(error));
      if (status === null) progressSection.hidden = true;
    }
  }

  async function cancel() {
    progress.cancel.disabled = true;
    fill(progress.feedback);
    try {
      await api.delete(path, { signal });
    } catch (error) {
      if (error.name === 'AbortError') return;
      fill(progress.feedback, problem(error));
    } finally {
      progress.cancel.disabled = false;
    }
    load();
  }

  function heard(frame) {
    if (frame.data.analysis_id !== id) return;
    if (frame.event === 'AnalysisProgressed') {
      progress.show(frame.data);
      if (status === 'queued') status = 'running';
      fill(statusLine, statusBadge('running', progress.percent));
    } else if (frame.event === 'AnalysisCompleted' || frame.event === 'AnalysisFailed') {
      load();
    }
  }

  const stopListening = feed.listen(heard);
  const removeOpen = live.onOpen(load);
  load();
  return () => {
    clearTimeout(recheck);
    stopListening();
    removeOpen();
  };
}
