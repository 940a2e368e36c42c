// Documents: upload (with a progress bar), the list with each document's indexing status
// (turned "indexed" live by the WebSocket `documents` channel), search with the query's
// terms highlighted in each passage, and delete.

import { append, fill, h, uniqueId } from '../lib/dom.js';
import * as format from '../lib/format.js';
import { highlight, terms } from '../lib/highlight.js';
import { renderMarkdown } from '../lib/markdown.js';
import { empty, loading, problem } from '../lib/status.js';

const ACCEPT = '.pdf,.md,.markdown,.txt,.html,.htm,.json';
const PENDING = new Set(['uploaded', 'indexing']);
// A document whose indexing failed publishes nothing on the socket: while any is
// pending, the list is re-read now and then so a failure shows too.
const PENDING_RECHECK_MS = 15000;
const SEARCH_RESULTS = 8;

export const title = () => 'Documents';

function statusBadge(status) {
  return h('span', { class: `badge status-${status}` }, status);
}

export function mount(view, { api, live, session, query, signal }) {
  const fileId = uniqueId('file');
  const tagsId = uniqueId('tags');
  const searchId = uniqueId('search');
  const uploadHeading = uniqueId('upload');
  const listHeading = uniqueId('list');
  const searchHeading = uniqueId('search-heading');
  const fileInput = h('input', { id: fileId, name: 'file', type: 'file', accept: ACCEPT, required: true });
  const tagsInput = h('input', { id: tagsId, name: 'tags', autocomplete: 'off', placeholder: 'e.g. research, earnings' });
  const uploadButton = h('button', { type: 'submit', class: 'primary' }, 'Upload');
  const progress = h('progress', { max: '100', value: '0', 'aria-label': 'Upload progress', hidden: true });
  const uploadStatus = h('div', { class: 'feedback', 'aria-live': 'polite' });
  const uploadForm = h(
    'form',
    { class: 'card upload' },
    h('div', { class: 'field' }, h('label', { for: fileId }, 'Document (PDF, Markdown, text, HTML or JSON)'), fileInput),
    h('div', { class: 'field' }, h('label', { for: tagsId }, 'Tags, comma-separated (optional)'), tagsInput),
    uploadButton,
    progress,
    uploadStatus,
  );
  const listHolder = h('div', { class: 'table-scroll' });
  const listStatus = h('div', { class: 'feedback', 'aria-live': 'polite' });
  const searchInput = h('input', { id: searchId, name: 'query', type: 'search', required: true, maxlength: '1000', value: query.get('q') ?? '' });
  const searchForm = h(
    'form',
    { class: 'inline-form', role: 'search' },
    h('label', { for: searchId }, 'Search your documents'),
    searchInput,
    h('button', { type: 'submit', class: 'primary' }, 'Search'),
  );
  const results = h('div', { class: 'results', 'aria-live': 'polite' });

  append(
    view,
    h('h1', { tabindex: '-1' }, 'Documents'),
    h('section', { class: 'panel', 'aria-labelledby': uploadHeading }, h('h2', { id: uploadHeading }, 'Upload a document'), uploadForm),
    h('section', { class: 'panel', 'aria-labelledby': listHeading }, h('h2', { id: listHeading }, 'Your documents'), listStatus, listHolder),
    h('section', { class: 'panel', 'aria-labelledby': searchHeading }, h('h2', { id: searchHeading }, 'Search'), searchForm, results),
  );

  let documents = [];
  let recheck = null;

  function row(doc) {
    const shared = doc.owner === 'shared';
    const canDelete = !shared || session.isAdmin;
    return h(
      'tr',
      { dataset: { documentId: doc.document_id, status: doc.status } },
      h('th', { scope: 'row' }, doc.filename, shared ? h('span', { class: 'badge' }, 'Shared') : null),
      h('td', {}, statusBadge(doc.status), doc.failure_reason ? h('span', { class: 'note' }, ` ${doc.failure_reason}`) : null),
      h('td', {}, doc.tags.join(', ')),
      h('td', { class: 'number' }, format.bytes(doc.size_bytes)),
      h('td', { class: 'number' }, doc.chunk_count ?? '—'),
      h('td', {}, format.dateTime(doc.updated_at)),
      h('td', {}, canDelete ? h('button', { type: 'button', class: 'quiet', 'aria-label': `Delete ${doc.filename}`, onclick: () => remove(doc) }, 'Delete') : null),
    );
  }

  function renderList() {
    clearTimeout(recheck);
    if (documents.length === 0) {
      fill(listHolder, empty('No documents yet: upload one above.'));
      return;
    }
    const headers = ['Name', 'Status', 'Tags', 'Size', 'Passages', 'Updated', 'Actions'];
    fill(
      listHolder,
      h(
        'table',
        { class: 'data documents' },
        h('caption', { class: 'visually-hidden' }, 'Your documents and the shared knowledge base'),
        h('thead', {}, h('tr', {}, headers.map((name) => h('th', { scope: 'col' }, name)))),
        h('tbody', {}, documents.map(row)),
      ),
    );
    if (documents.some((doc) => PENDING.has(doc.status))) recheck = setTimeout(loadList, PENDING_RECHECK_MS);
  }

  async function loadList() {
    try {
      documents = (await api.get('/documents', { signal })).documents;
      renderList();
    } catch (error) {
      if (error.name !== 'AbortError') fill(listHolder, problem(error));
    }
  }

  function indexed(frame) {
    const { document_id: id, chunk_count: chunks } = frame.data;
    const doc = documents.find((each) => each.document_id === id);
    if (!doc) {
      loadList(); // uploaded elsewhere, or before this page knew of it
      return;
    }
    Object.assign(doc, { status: 'indexed', chunk_count: chunks, updated_at: frame.data.indexed_at });
    renderList();
    fill(listStatus, h('p', { class: 'status' }, `${doc.filename} is indexed (${chunks} passages).`));
  }

  async function remove(doc) {
    if (!window.confirm(`Delete ${doc.filename}? Its passages leave the search index.`)) return;
    try {
      await api.delete(`/documents/${encodeURIComponent(doc.document_id)}`, { signal });
      documents = documents.filter((each) => each.document_id !== doc.document_id);
      renderList();
      fill(listStatus, h('p', { class: 'status' }, `Deleted ${doc.filename}.`));
    } catch (error) {
      if (error.name !== 'AbortError') fill(listStatus, problem(error));
    }
  }

  uploadForm.addEventListener('submit', async (event) => {
    event.preventDefault();
    const file = fileInput.files[0];
    if (!file) {
      fill(uploadStatus, problem({ title: 'No file chosen', detail: 'Choose a document to upload.' }));
      return;
    }
    const form = new FormData();
    form.append('file', file, file.name);
    if (tagsInput.value.trim()) form.append('tags', tagsInput.value.trim());
    uploadButton.disabled = true;
    progress.hidden = false;
    progress.value = 0;
    fill(uploadStatus, h('p', { class: 'status' }, `Uploading ${file.name}…`));
    try {
      const { status, body } = await api.upload('/documents', form, (sent) => {
        progress.value = Math.round(sent * 100);
      });
      const again = status === 200 || body.deduplicated;
      fill(uploadStatus, h('p', { class: 'status' }, again ? `${file.name} was uploaded before: nothing changed.` : `Uploaded ${file.name}; indexing…`));
      uploadForm.reset();
      await loadList();
    } catch (error) {
      fill(uploadStatus, problem(error));
    } finally {
      uploadButton.disabled = false;
      progress.hidden = true;
    }
  });

  async function search() {
    const text = searchInput.value.trim();
    if (!text) return;
    fill(results, loading('Searching'));
    try {
      const answer = await api.post('/search', { query: text, k: SEARCH_RESULTS }, { signal });
      const words = terms(text);
      if (answer.hits.length === 0) {
        fill(results, empty(`Nothing matches “${text}”.`));
        return;
      }
      fill(
        results,
        h('p', { class: 'note' }, `${answer.hits.length} passages for “${text}”.`),
        h(
          'ol',
          { class: 'hits' },
          answer.hits.map((hit) => {
            const snippet = h('p', { class: 'snippet' }, hit.snippet);
            highlight(snippet, words);
            const passage = h('div', { class: 'passage' }, renderMarkdown(hit.text));
            highlight(passage, words);
            return h(
              'li',
              { class: 'hit', dataset: { documentId: hit.citation.document_id } },
              h('p', { class: 'filename' }, hit.citation.filename, hit.section ? h('span', { class: 'section' }, ` · ${hit.section}`) : null),
              snippet,
              h('details', {}, h('summary', {}, 'Whole passage'), passage),
            );
          }),
        ),
      );
    } catch (error) {
      if (error.name !== 'AbortError') fill(results, problem(error));
    }
  }

  searchForm.addEventListener('submit', (event) => {
    event.preventDefault();
    search();
  });

  fill(listHolder, loading('Loading your documents'));
  const unsubscribe = live.subscribe('documents', indexed);
  // After a reconnection: events sent while the socket was down are gone; re-read.
  const removeOpen = live.onOpen(loadList);
  loadList();
  if (searchInput.value) search();
  return () => {
    clearTimeout(recheck);
    unsubscribe();
    removeOpen();
  };
}
