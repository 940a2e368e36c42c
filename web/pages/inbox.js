// The inbox: the user's notifications (fired alerts, finished analyses, indexed documents,
// ops and account notices), newest first, the unread ones marked; one or all marked read;
// more pages on request; a new one arrives live from the WebSocket `notifications` channel.

import { append, fill, h, uniqueId } from '../lib/dom.js';
import * as format from '../lib/format.js';
import { empty, loading, problem } from '../lib/status.js';

const PAGE_SIZE = 20;
const MAX_PAGE_SIZE = 100;
const KIND_LABELS = { alert: 'Alert', analysis: 'Analysis', document: 'Document', ops: 'Ops', account: 'Account' };
// The API's links, as the pages of this app that show them.
const ROUTES = [
  [/^\/api\/v1\/alerts\/[^/]+$/, () => '#/alerts'],
  [/^\/api\/v1\/analyses\/([^/]+)$/, (id) => `#/analyses/${id}`],
  [/^\/api\/v1\/documents\/([^/]+)$/, (id) => `#/documents?document=${id}`],
];

export const title = () => 'Inbox';

function appLink(link) {
  if (!link) return null;
  for (const [pattern, route] of ROUTES) {
    const found = pattern.exec(link);
    if (found) return route(found[1]);
  }
  return null;
}

class NotificationItem {
  constructor(notification, onRead) {
    this.notification = notification;
    this.onRead = onRead;
    this.element = h('li', { class: 'notification', dataset: { notificationId: notification.notification_id, kind: notification.kind } });
    this.render();
  }

  render() {
    const n = this.notification;
    this.element.classList.toggle('unread', !n.read);
    this.element.dataset.read = String(n.read);
    const href = appLink(n.link);
    fill(
      this.element,
      h(
        'div',
        { class: 'notification-head' },
        n.read ? null : h('span', { class: 'badge unread-mark' }, 'Unread'),
        h('span', { class: `badge kind-${n.kind}` }, KIND_LABELS[n.kind] ?? n.kind),
        h('h3', { class: 'notification-title' }, href ? h('a', { href }, n.title) : n.title),
        h('time', { datetime: n.created_at, class: 'note' }, format.dateTime(n.created_at)),
      ),
      h('p', { class: 'notification-body' }, n.body),
      n.read ? null : h('button', { type: 'button', class: 'quiet', 'aria-label': `Mark read: ${n.title}`, onclick: () => this.onRead(this) }, 'Mark read'),
    );
  }

  markRead() {
    this.notification = { ...this.notification, read: true };
    this.render();
  }
}

export function mount(view, { api, live, unread, query, signal }) {
  const asked = Number.parseInt(query.get('limit') ?? '', 10);
  const pageSize = asked >= 1 ? Math.min(asked, MAX_PAGE_SIZE) : PAGE_SIZE;
  const items = new Map();
  let nextCursor = null;
  const headingId = uniqueId('inbox');
  const list = h('ol', { class: 'notifications', 'aria-labelledby': headingId });
  const holder = h('div', { class: 'inbox-holder' });
  const feedback = h('div', { class: 'feedback', 'aria-live': 'polite' });
  const summary = h('p', { class: 'status inbox-summary', 'aria-live': 'polite' });
  const markAll = h('button', { type: 'button' }, 'Mark all read');
  const more = h('button', { type: 'button', hidden: true }, 'Show older notifications');

  append(
    view,
    h('h1', { tabindex: '-1' }, 'Inbox'),
    h(
      'section',
      { class: 'panel', 'aria-labelledby': headingId },
      h('div', { class: 'inbox-toolbar' }, h('h2', { id: headingId }, 'Notifications'), summary, markAll),
      feedback,
      holder,
      more,
    ),
  );

  function unreadShown() {
    return [...items.values()].filter((item) => !item.notification.read).length;
  }

  function render() {
    markAll.disabled = unreadShown() === 0;
    summary.textContent = items.size ? `${unreadShown()} unread of ${items.size} shown` : '';
    if (items.size === 0) {
      fill(holder, empty('Your inbox is empty: fired alerts, finished analyses and indexed documents show up here.'));
      return;
    }
    fill(list, [...items.values()].map((item) => item.element));
    fill(holder, list);
  }

  function add(notifications, { first = false } = {}) {
    const fresh = notifications.filter((n) => !items.has(n.notification_id)).map((n) => [n.notification_id, new NotificationItem(n, markRead)]);
    const merged = first ? [...fresh, ...items] : [...items, ...fresh];
    items.clear();
    for (const [id, item] of merged) items.set(id, item);
    render();
  }

  async function markRead(item) {
    fill(feedback);
    try {
      await api.post(`/notifications/${encodeURIComponent(item.notification.notification_id)}/read`, undefined, { signal });
      item.markRead();
      render();
      unread.refresh();
    } catch (error) {
      if (error.name !== 'AbortError') fill(feedback, problem(error));
    }
  }

  markAll.addEventListener('click', async () => {
    markAll.disabled = true;
    fill(feedback, loading('Marking everything read'));
    try {
      const { marked } = await api.post('/notifications/read-all', undefined, { signal });
      for (const item of items.values()) if (!item.notification.read) item.markRead();
      fill(feedback, h('p', { class: 'status' }, marked === 1 ? 'Marked 1 notification read.' : `Marked ${marked} notifications read.`));
      render();
      unread.refresh();
    } catch (error) {
      if (error.name !== 'AbortError') fill(feedback, problem(error));
      render();
    }
  });

  async function loadPage(cursor) {
    if (!cursor) fill(holder, loading('Loading your inbox'));
    more.disabled = true;
    try {
      const page = await api.get('/notifications', { query: { limit: pageSize, cursor }, signal });
      if (!cursor) items.clear();
      add(page.items);
      nextCursor = page.next_cursor;
      more.hidden = !nextCursor;
    } catch (error) {
      if (error.name !== 'AbortError') fill(cursor ? feedback : holder, problem(error));
    } finally {
      more.disabled = false;
    }
  }
  more.addEventListener('click', () => loadPage(nextCursor));

  const unsubscribe = live.subscribe('notifications', (frame) => {
    const data = frame.data ?? {};
    if (!data.notification_id) return;
    add([{ notification_id: data.notification_id, kind: data.kind, title: data.title, body: data.body, link: data.link ?? null, created_at: data.created_at, read: false }], { first: true });
  });
  // What arrived while the socket was down: read the first page again at a reconnection.
  let opened = live.state === 'live';
  const removeOpen = live.onOpen(() => {
    if (opened) loadPage(null);
    opened = true;
  });

  loadPage(null);
  return () => {
    unsubscribe();
    removeOpen();
  };
}
