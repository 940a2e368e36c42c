// The states every page shows the same way: loading, empty, and an API problem (its
// problem+json title and detail).

import { h } from './dom.js';

export function loading(text) {
  return h('p', { class: 'status loading', role: 'status' }, `${text}…`);
}

export function empty(text) {
  return h('p', { class: 'status empty' }, text);
}

/** An error as the reader sees it: an ApiError's title and detail, field by field. */
export function problem(error) {
  const title = error?.title ?? 'Something went wrong';
  const detail = error?.detail ?? (error instanceof Error ? error.message : '');
  const fields = Array.isArray(error?.errors) ? error.errors : [];
  return h(
    'div',
    { class: 'problem', role: 'alert' },
    h('p', { class: 'problem-title' }, title),
    detail ? h('p', { class: 'problem-detail' }, detail) : null,
    fields.length
      ? h('ul', { class: 'problem-fields' }, fields.map((f) => h('li', {}, `${fieldName(f.loc)}: ${f.msg}`)))
      : null,
  );
}

function fieldName(location) {
  const parts = (location ?? []).filter((part) => part !== 'body');
  return parts.length ? parts.join('.') : 'request';
}
