// MarketScope's web app: one document, one module per page (pages/), shared parts in lib/.
// This module wires them: the session (access token in memory, refresh token in an
// HttpOnly cookie), the API client, the live socket, the router with the page table
// below, and the header that follows the session.

import { Api } from './lib/api.js';
import { fill, h } from './lib/dom.js';
import { UnreadCount } from './lib/inbox-unread.js';
import { LiveSocket } from './lib/live.js';
import { Router } from './lib/router.js';
import { Session } from './lib/session.js';
import { problem } from './lib/status.js';

const page = (file) => new URL(`./pages/${file}`, import.meta.url).href;

// Every page of the app. `nav` puts it in the main navigation (`admin` entries only for
// admins); `public` pages need no sign-in; `guest` pages are for signed-out readers only.
const PAGES = [
  { path: '/', module: page('dashboard.js'), nav: 'Dashboard' },
  { path: '/symbols/:symbol', module: page('symbol.js') },
  { path: '/chat', module: page('chat.js'), nav: 'Chat' },
  { path: '/chat/:conversation', module: page('chat.js') },
  { path: '/analyses', module: page('analyses.js'), nav: 'Analyses' },
  { path: '/analyses/:analysis', module: page('analysis.js') },
  { path: '/documents', module: page('documents.js'), nav: 'Documents' },
  { path: '/alerts', module: page('alerts.js'), nav: 'Alerts' },
  { path: '/inbox', module: page('inbox.js'), nav: 'Inbox' },
  { path: '/ops', module: page('ops.js'), nav: 'Ops', admin: true },
  { path: '/sign-in', module: page('sign-in.js'), public: true, guest: true },
  { path: '/sign-up', module: page('sign-up.js'), public: true, guest: true },
  { path: '/about', module: page('about.js'), public: true },
];
const LIVE_STATES = { live: 'Live', connecting: 'Connecting…', offline: '' };

const session = new Session();
const api = new Api(session);
const live = new LiveSocket(session);
const unread = new UnreadCount(api, live);
const context = { session, api, live, unread };
const router = new Router(PAGES, document.getElementById('main'), context);
context.router = router;

const navList = document.getElementById('nav-links');
const account = document.getElementById('account');
const notice = document.getElementById('notice');
const liveState = h('span', { class: 'live-state', role: 'status' });
const unreadBadge = h('span', { class: 'badge unread-badge', hidden: true });

function showUnread(count) {
  unreadBadge.hidden = !count;
  unreadBadge.dataset.count = String(count ?? 0);
  fill(unreadBadge, String(count ?? 0), h('span', { class: 'visually-hidden' }, ' unread'));
}

function renderHeader() {
  const user = session.user;
  const current = router.location.path;
  fill(
    navList,
    user
      ? PAGES.filter((each) => each.nav && (!each.admin || session.isAdmin)).map((each) =>
          h(
            'li',
            {},
            h('a', { href: `#${each.path}`, 'aria-current': each.path === current ? 'page' : null }, each.nav, each.path === '/inbox' ? unreadBadge : null),
          ),
        )
      : null,
  );
  if (user) {
    const signOut = h('button', { type: 'button', class: 'quiet' }, 'Sign out');
    signOut.addEventListener('click', async () => {
      signOut.disabled = true;
      const failure = await session.signOut();
      if (failure) fill(notice, problem({ title: 'Signed out here only', detail: `${failure.title}: ${failure.detail}` }));
    });
    fill(account, liveState, h('span', { class: 'user' }, user.email), signOut);
  } else {
    fill(account, h('a', { href: '#/sign-in' }, 'Sign in'), h('a', { href: '#/sign-up', class: 'button' }, 'Create account'));
  }
}

session.addEventListener('change', (event) => {
  const { reason } = event.detail;
  renderHeader();
  if (session.user) {
    fill(notice);
    live.start();
    unread.start();
    return;
  }
  unread.stop();
  live.stop();
  const { path } = router.location;
  if (reason === 'expired') {
    fill(notice, h('p', { class: 'status' }, 'Your session has ended: sign in again.'));
    router.navigate(`/sign-in?next=${encodeURIComponent(path)}`);
  } else {
    fill(notice, h('p', { class: 'status' }, 'You are signed out.'));
    router.navigate('/sign-in');
  }
});

live.addEventListener('state', (event) => {
  liveState.textContent = LIVE_STATES[event.detail.state];
  liveState.dataset.state = event.detail.state;
});

unread.addEventListener('change', (event) => showUnread(event.detail.count));

router.addEventListener('route', (event) => {
  const matched = router.match(event.detail.path);
  if (matched?.route.guest && session.user) router.navigate('/');
  renderHeader();
});

document.querySelector('.skip-link').addEventListener('click', (event) => {
  // A plain #main would become a route; focus the content instead.
  event.preventDefault();
  document.getElementById('main').querySelector('h1')?.focus();
});

renderHeader();
// A reload or a new tab resumes the session of the refresh cookie before the first route
// decides between the page and the sign-in form.
await session.restore();
router.start();
