// Markdown rendered to sanitised DOM: marked parses, DOMPurify keeps only harmless
// markup (no scripts, styles, images or event handlers), links leave safely; links to
// the app's own pages stay in the tab.

import { Marked } from '../vendor/marked/marked.esm.js';
import DOMPurify from '../vendor/dompurify/purify.es.mjs';

const markdown = new Marked({ gfm: true, breaks: false, async: false });

// A link to one of the app's own pages (`/#/alerts?...`) stays in the tab.
const APP_PAGE = /^\/?#\//;

DOMPurify.addHook('afterSanitizeAttributes', (node) => {
  if (node.tagName === 'A' && node.hasAttribute('href') && !APP_PAGE.test(node.getAttribute('href'))) {
    node.setAttribute('rel', 'noopener noreferrer');
    node.setAttribute('target', '_blank');
  }
});

/** A DocumentFragment of `text` rendered as markdown. */
export function renderMarkdown(text) {
  return DOMPurify.sanitize(markdown.parse(text), {
    RETURN_DOM_FRAGMENT: true,
    FORBID_TAGS: ['style', 'img', 'form', 'input', 'button', 'textarea', 'select'],
    FORBID_ATTR: ['style'],
  });
}
