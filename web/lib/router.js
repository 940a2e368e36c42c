// Hash routes (#/symbols/AAPL): the gateway serves one document, so every address of the
// app is that document's fragment. Each route names a page module; a page exports
// `title(params)` and `mount(view, context)`, which builds the page into `view` and
// returns its cleanup. Pages load on first visit (dynamic import).

import { fill, h } from './dom.js';
import { problem } from './status.js';

function parse(hash) {
  const [path, search = ''] = (hash.replace(/^#/, '') || '/').split('?');
  return { path: path || '/', query: new URLSearchParams(search) };
}

function compile(pattern) {
  const names = [];
  const source = pattern.replace(/:([a-z]+)/g, (_, name) => {
    names.push(name);
    return '([^/]+)';
  });
  return { expression: new RegExp(`^${source}$`), names };
}

export class Router extends EventTarget {
  #routes;
  #outlet;
  #context;
  #cleanup = null;
  #current = 0;

  /** `routes`: [{path: '/symbols/:symbol', module: URL, public?: true}]. */
  constructor(routes, outlet, context) {
    super();
    this.#routes = routes.map((route) => ({ ...route, ...compile(route.path) }));
    this.#outlet = outlet;
    this.#context = context;
  }

  start() {
    window.addEventListener('hashchange', () => this.render());
    return this.render();
  }

  navigate(path) {
    if (location.hash === `#${path}`) return this.render();
    location.hash = path;
    return null;
  }

  /** The current location's path and query. */
  get location() {
    return parse(location.hash);
  }

  match(path) {
    for (const route of this.#routes) {
      const found = route.expression.exec(path);
      if (found) {
        const params = Object.fromEntries(route.names.map((name, i) => [name, decodeURIComponent(found[i + 1])]));
        return { route, params };
      }
    }
    return null;
  }

  async render() {
    const { path, query } = parse(location.hash);
    const matched = this.match(path);
    if (matched && !matched.route.public && !this.#context.session.user) {
      this.navigate(`/sign-in?next=${encodeURIComponent(path)}`);
      return;
    }
    const visit = ++this.#current;
    this.#cleanup?.();
    this.#cleanup = null;
    const view = h('div', { class: 'view' });
    fill(this.#outlet, view);
    if (!matched) {
      document.title = 'Not found · MarketScope';
      fill(view, h('h1', { tabindex: '-1' }, 'Page not found'), h('p', {}, h('a', { href: '#/' }, 'Go to the dashboard')));
      this.#announce(view, path);
      return;
    }
    let page;
    try {
      page = await import(matched.route.module);
    } catch (error) {
      fill(view, h('h1', { tabindex: '-1' }, 'This page did not load'), problem(error));
      return;
    }
    if (visit !== this.#current) return; // the reader moved on while it loaded
    document.title = `${page.title(matched.params)} · MarketScope`;
    const controller = new AbortController();
    const cleanup = page.mount(view, { ...this.#context, params: matched.params, query, signal: controller.signal });
    this.#cleanup = () => {
      controller.abort();
      cleanup?.();
    };
    this.#announce(view, path);
  }

  #announce(view, path) {
    // Move focus to the new page's heading, as a full page load would for screen readers.
    view.querySelector('h1')?.focus({ preventScroll: true });
    this.dispatchEvent(new CustomEvent('route', { detail: { path } }));
  }
}
