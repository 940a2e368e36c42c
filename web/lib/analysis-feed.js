// The WebSocket `analyses` channel, heard for as long as the app runs rather than per
// page: an analysis requested on the list page starts at once, and its first progress
// events may arrive while its own page is still loading. The feed keeps each analysis's
// latest progress and end, so that page begins from what was already heard.

const feeds = new WeakMap();

class AnalysisFeed {
  #latest = new Map(); // analysis id -> { progress, ended }
  #listeners = new Set();

  constructor(live, session) {
    live.subscribe('analyses', (frame) => this.#receive(frame));
    session.addEventListener('change', () => this.#latest.clear());
  }

  #receive(frame) {
    const id = frame.data?.analysis_id;
    if (!id) return;
    const known = this.#latest.get(id) ?? { progress: null, ended: null };
    if (frame.event === 'AnalysisProgressed') {
      if (!known.progress || frame.data.percent >= known.progress.percent) known.progress = frame.data;
    } else if (frame.event === 'AnalysisCompleted' || frame.event === 'AnalysisFailed') {
      known.ended = frame;
    }
    this.#latest.set(id, known);
    for (const listener of this.#listeners) listener(frame);
  }

  /** What was heard of one analysis: its latest progress and its end event, if any. */
  latest(id) {
    return this.#latest.get(id) ?? { progress: null, ended: null };
  }

  /** Call `listener(frame)` for each event on the channel; returns the removal. */
  listen(listener) {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }
}

/** The app's one feed of the `analyses` channel. */
export function analysisFeed(live, session) {
  let feed = feeds.get(live);
  if (!feed) {
    feed = new AnalysisFeed(live, session);
    feeds.set(live, feed);
  }
  return feed;
}
