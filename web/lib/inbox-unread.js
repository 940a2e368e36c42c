// How many notifications the signed-in user has not read: read from
// /api/v1/notifications/unread-count, re-read at each (re)connection of the socket and at
// each NotificationCreated on the `notifications` channel, and whenever a page marks some
// read. Listeners hear `change` with {count}.

const SETTLE_MS = 1500;

export class UnreadCount extends EventTarget {
  #api;
  #live;
  #count = null;
  #request = 0;
  #unsubscribe = null;
  #removeOpen = null;

  constructor(api, live) {
    super();
    this.#api = api;
    this.#live = live;
  }

  /** The last count read, or null before the first answer. */
  get count() {
    return this.#count;
  }

  start() {
    if (this.#unsubscribe) return;
    this.#unsubscribe = this.#live.subscribe('notifications', () => {
      this.refresh();
      // The inbox may take its entry a moment after the event: read once more.
      setTimeout(() => this.refresh(), SETTLE_MS);
    });
    this.#removeOpen = this.#live.onOpen(() => this.refresh());
    this.refresh();
  }

  stop() {
    this.#unsubscribe?.();
    this.#removeOpen?.();
    this.#unsubscribe = null;
    this.#removeOpen = null;
    this.#request += 1;
    this.#set(null);
  }

  async refresh() {
    const request = ++this.#request;
    try {
      const { unread } = await this.#api.get('/notifications/unread-count');
      if (request === this.#request) this.#set(unread);
    } catch {
      // The badge keeps its last count; the inbox page shows the problem itself.
    }
  }

  #set(count) {
    if (count === this.#count) return;
    this.#count = count;
    this.dispatchEvent(new CustomEvent('change', { detail: { count } }));
  }
}
