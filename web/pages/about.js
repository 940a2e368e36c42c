// What MarketScope's web app is built with: each vendored library, its version and
// licence (read from web/vendor/manifest.json, which the refresh script keeps), and the
// notices their licences ask for.

import { append, fill, h } from '../lib/dom.js';
import { loading, problem } from '../lib/status.js';

const MANIFEST = '/web/vendor/manifest.json';

export const title = () => 'About';

function licenceLinks(files) {
  return files
    .filter((file) => /\/(LICENSE|NOTICE)[^/]*$/.test(file))
    .map((file, i) => [i ? ', ' : '', h('a', { href: `/web/vendor/${file}` }, file.split('/').pop())]);
}

export function mount(view, { signal }) {
  const holder = h('div', {}, loading('Loading the list of libraries'));
  append(
    view,
    h('h1', { tabindex: '-1' }, 'About MarketScope'),
    h(
      'p',
      {},
      'MarketScope analyses stocks with live prices, charts, risk figures and your own research documents. ',
      'With no market data provider configured, prices are a replay of real historical daily prices, labelled “Replay”.',
    ),
    h('h2', {}, 'Third-party software'),
    holder,
  );
  (async () => {
    try {
      const response = await fetch(MANIFEST, { signal });
      if (!response.ok) throw new Error(`${MANIFEST} answered ${response.status}`);
      const { packages } = await response.json();
      const notices = packages.flatMap((p) => Object.values(p.notices ?? {}));
      fill(
        holder,
        h(
          'table',
          { class: 'data' },
          h('caption', { class: 'visually-hidden' }, 'Vendored libraries'),
          h('thead', {}, h('tr', {}, ['Library', 'Version', 'Licence', 'Files'].map((name) => h('th', { scope: 'col' }, name)))),
          h(
            'tbody',
            {},
            packages.map((p) => {
              const files = [...p.files.map((f) => f.target), ...Object.keys(p.notices ?? {})];
              return h(
                'tr',
                {},
                h('th', { scope: 'row' }, h('a', { href: `https://www.npmjs.com/package/${p.name}`, rel: 'noopener noreferrer', target: '_blank' }, p.name)),
                h('td', {}, p.version),
                h('td', {}, p.license),
                h('td', {}, licenceLinks(files)),
              );
            }),
          ),
        ),
        h('h2', {}, 'Notices'),
        notices.map((text) => h('pre', { class: 'notice' }, text)),
        h('p', {}, 'Charts are drawn with ', h('a', { href: 'https://www.tradingview.com/', rel: 'noopener noreferrer', target: '_blank' }, 'TradingView'), ' Lightweight Charts™.'),
        h('p', { class: 'note' }, 'axe-core is vendored for the accessibility checks of the browser tests; the app never loads it.'),
      );
    } catch (error) {
      if (error.name !== 'AbortError') fill(holder, problem(error));
    }
  })();
}
