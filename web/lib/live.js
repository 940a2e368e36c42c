// The gateway's WebSocket (/ws): authenticated by a first `auth` message (browsers cannot
// set headers on a WebSocket), channels subscribed while anyone on the page listens, the
// fresh access token handed over at each silent refresh so the socket outlives the old
// one, and reconnection with backoff. Listeners of `onOpen` hear every (re)connection, so
// a page can re-read what it may have missed while the socket was down.

const BACKOFF_MS = [500, 1000, 2000, 5000, 10000];
const CLOSE_UNAUTHENTICATED = 4401;

export class LiveSocket extends EventTarget {
  #session;
  #socket = null;
  #ready = false;
  #running = false;
  #attempt = 0;
  #retry = null;
  #handlers = new Map(); // channel -> Set of handlers
  #openListeners = new Set();

  constructor(session) {
    super();
    this.#session = session;
    session.addEventListener('token', (event) => this.#send({ type: 'auth', token: event.detail.token, id: 'renew' }));
  }

  /** 'connecting', 'live' or 'offline'. */
  get state() {
    if (this.#ready) return 'live';
    return this.#running ? 'connecting' : 'offline';
  }

  start() {
    if (this.#running) return;
    this.#running = true;
    this.#connect();
  }

  stop() {
    this.#running = false;
    clearTimeout(this.#retry);
    this.#ready = false;
    this.#socket?.close(1000, 'signed out');
    this.#socket = null;
    this.#changed();
  }

  /** Call `handler(event)` for each event on `channel`; returns the unsubscribe. */
  subscribe(channel, handler) {
    let handlers = this.#handlers.get(channel);
    if (!handlers) {
      handlers = new Set();
      this.#handlers.set(channel, handlers);
      this.#send({ type: 'subscribe', channel });
    }
    handlers.add(handler);
    return () => {
      handlers.delete(handler);
      if (handlers.size === 0 && this.#handlers.get(channel) === handlers) {
        this.#handlers.delete(channel);
        this.#send({ type: 'unsubscribe', channel });
      }
    };
  }

  /** Call `listener()` at each (re)connection; returns the removal. */
  onOpen(listener) {
    this.#openListeners.add(listener);
    return () => this.#openListeners.delete(listener);
  }

  #send(message) {
    if (this.#ready && this.#socket?.readyState === WebSocket.OPEN) this.#socket.send(JSON.stringify(message));
  }

  #connect() {
    const token = this.#session.accessToken;
    if (!this.#running || !token) return;
    const scheme = location.protocol === 'https:' ? 'wss' : 'ws';
    const socket = new WebSocket(`${scheme}://${location.host}/ws`);
    this.#socket = socket;
    this.#changed();
    socket.addEventListener('open', () => socket.send(JSON.stringify({ type: 'auth', token: this.#session.accessToken })));
    socket.addEventListener('message', (message) => this.#receive(socket, JSON.parse(message.data)));
    socket.addEventListener('close', (event) => this.#closed(socket, event.code));
  }

  #receive(socket, frame) {
    if (socket !== this.#socket) return;
    if (frame.type === 'welcome') {
      this.#ready = true;
      this.#attempt = 0;
      for (const channel of this.#handlers.keys()) this.#send({ type: 'subscribe', channel });
      this.#changed();
      for (const listener of this.#openListeners) listener();
    } else if (frame.type === 'event') {
      for (const handler of this.#handlers.get(frame.channel) ?? []) handler(frame);
    }
  }

  async #closed(socket, code) {
    if (socket !== this.#socket) return;
    this.#socket = null;
    this.#ready = false;
    this.#changed();
    if (!this.#running) return;
    if (code === CLOSE_UNAUTHENTICATED && !(await this.#session.refresh())) return;
    const delay = BACKOFF_MS[Math.min(this.#attempt, BACKOFF_MS.length - 1)];
    this.#attempt += 1;
    this.#retry = setTimeout(() => this.#connect(), delay);
  }

  #changed() {
    this.dispatchEvent(new CustomEvent('state', { detail: { state: this.state } }));
  }
}
