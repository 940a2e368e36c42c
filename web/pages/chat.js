// Chat: the reader's conversations (listed, started, deleted) and one conversation with
// its earlier messages; a question's answer streamed as chat writes it (server-sent
// events read through fetch), with its tool calls, citations, grounded numbers and usage.

import { AssistantMessage, userMessage } from '../lib/chat-message.js';
import { streamEvents } from '../lib/chat-stream.js';
import { append, fill, h, uniqueId } from '../lib/dom.js';
import * as format from '../lib/format.js';
import { empty, loading, problem } from '../lib/status.js';

const PAGE_SIZE = 20;
const MAX_QUESTION = 4000;
// A question asked before its conversation existed, sent once that conversation opens.
let pendingQuestion = null;

export const title = () => 'Chat';

function conversationPath(id) {
  return `/conversations/${encodeURIComponent(id)}`;
}

class ConversationList {
  constructor({ api, router, signal, current, onLoaded }) {
    this.api = api;
    this.onLoaded = onLoaded;
    this.router = router;
    this.signal = signal;
    this.current = current;
    this.items = [];
    this.cursor = null;
    this.status = h('div', { class: 'feedback', 'aria-live': 'polite' });
    this.list = h('ul', { class: 'conversation-list' });
    this.more = h('button', { type: 'button', class: 'quiet', hidden: true, onclick: () => this.load(this.cursor) }, 'Load more conversations');
    this.element = h('div', { class: 'conversation-list-holder' }, this.status, this.list, this.more);
  }

  item(conversation) {
    const name = conversation.title || 'Untitled conversation';
    const current = conversation.id === this.current;
    return h(
      'li',
      { class: current ? 'conversation current' : 'conversation', dataset: { conversationId: conversation.id } },
      h('a', { href: `#/chat/${encodeURIComponent(conversation.id)}`, 'aria-current': current ? 'page' : null }, h('span', { class: 'conversation-title' }, name)),
      h('span', { class: 'conversation-meta' }, `${conversation.message_count} messages · ${format.dateTime(conversation.updated_at)}`),
      h('button', { type: 'button', class: 'quiet', 'aria-label': `Delete conversation ${name}`, onclick: () => this.remove(conversation) }, 'Delete'),
    );
  }

  render() {
    if (this.items.length === 0) fill(this.list, h('li', {}, empty('No conversations yet.')));
    else fill(this.list, this.items.map((each) => this.item(each)));
    this.more.hidden = !this.cursor;
  }

  async load(cursor = null) {
    if (!cursor && this.items.length === 0) fill(this.list, h('li', {}, loading('Loading your conversations')));
    try {
      const page = await this.api.get('/conversations', { query: { limit: PAGE_SIZE, cursor }, signal: this.signal });
      this.items = cursor ? [...this.items, ...page.items] : page.items;
      this.cursor = page.next_cursor;
      fill(this.status);
      this.render();
      this.onLoaded(this.items);
    } catch (error) {
      if (error.name !== 'AbortError') fill(this.status, problem(error));
    }
  }

  async remove(conversation) {
    const name = conversation.title || 'Untitled conversation';
    if (!window.confirm(`Delete the conversation “${name}”?`)) return;
    try {
      await this.api.delete(conversationPath(conversation.id), { signal: this.signal });
      this.items = this.items.filter((each) => each.id !== conversation.id);
      this.render();
      fill(this.status, h('p', { class: 'status' }, `Deleted “${name}”.`));
      if (conversation.id === this.current) this.router.navigate('/chat');
    } catch (error) {
      if (error.name !== 'AbortError') fill(this.status, problem(error));
    }
  }
}

export function mount(view, { api, session, router, params, signal }) {
  const conversationId = params.conversation ?? null;
  const listHeading = uniqueId('conversations');
  const threadHeading = uniqueId('thread');
  const questionId = uniqueId('question');
  const conversations = new ConversationList({ api, router, signal, current: conversationId, onLoaded: showTitle });
  const newButton = h('button', { type: 'button', class: 'primary', onclick: startConversation }, 'New conversation');
  const threadTitle = h('h2', { id: threadHeading }, conversationId ? 'Conversation' : 'New conversation');
  const threadStatus = h('div', { class: 'feedback' });
  const thread = h('ol', { class: 'thread', 'aria-label': 'Messages' });
  const question = h('textarea', { id: questionId, name: 'content', rows: '3', required: true, maxlength: String(MAX_QUESTION), placeholder: 'e.g. What is the price of AAPL and its 1y volatility?' });
  const sendButton = h('button', { type: 'submit', class: 'primary' }, 'Send');
  const stopButton = h('button', { type: 'button', class: 'quiet', hidden: true }, 'Stop');
  const answering = h('p', { class: 'answering', role: 'status' });
  const composer = h(
    'form',
    { class: 'composer' },
    h('label', { for: questionId }, 'Your question'),
    question,
    h('div', { class: 'composer-actions' }, sendButton, stopButton, answering),
  );

  append(
    view,
    h('h1', { tabindex: '-1' }, 'Chat'),
    h(
      'div',
      { class: 'chat-layout' },
      h('section', { class: 'panel conversations', 'aria-labelledby': listHeading }, h('h2', { id: listHeading }, 'Conversations'), newButton, conversations.element),
      h('section', { class: 'panel thread-panel', 'aria-labelledby': threadHeading }, threadTitle, threadStatus, thread, composer),
    ),
  );

  let stopper = null;

  function showTitle(items) {
    const current = items.find((each) => each.id === conversationId);
    if (current?.title) threadTitle.textContent = current.title;
  }

  async function startConversation() {
    newButton.disabled = true;
    try {
      const created = await api.post('/conversations', {}, { signal });
      router.navigate(`/chat/${encodeURIComponent(created.id)}`);
    } catch (error) {
      if (error.name !== 'AbortError') fill(threadStatus, problem(error));
    } finally {
      newButton.disabled = false;
    }
  }

  function showEmptyThread() {
    fill(thread, h('li', { class: 'thread-empty' }, empty('No messages yet: ask about a stock, your watchlist or your documents.')));
  }

  async function loadConversation() {
    fill(thread, h('li', {}, loading('Loading the conversation')));
    try {
      const conversation = await api.get(conversationPath(conversationId), { signal });
      threadTitle.textContent = conversation.title || 'Untitled conversation';
      fill(thread);
      let lastQuestion = '';
      for (const message of conversation.messages) {
        if (message.role === 'user') {
          lastQuestion = message.content;
          append(thread, userMessage(message.content));
        } else if (message.role === 'assistant') {
          append(thread, AssistantMessage.fromStored(message, lastQuestion).element);
        }
      }
      if (conversation.messages.length === 0) showEmptyThread();
      return true;
    } catch (error) {
      if (error.name === 'AbortError') return false;
      fill(thread);
      fill(threadStatus, problem(error));
      composer.hidden = true;
      return false;
    }
  }

  function setAnswering(active) {
    sendButton.disabled = active;
    question.disabled = active;
    stopButton.hidden = !active;
    answering.textContent = active ? 'Answering…' : '';
  }

  async function ask(text) {
    thread.querySelector('.thread-empty')?.remove();
    append(thread, userMessage(text));
    const answer = new AssistantMessage(text);
    append(thread, answer.element);
    answer.element.scrollIntoView({ block: 'nearest' });
    stopper = new AbortController();
    setAnswering(true);
    try {
      await streamEvents(session, `${conversationPath(conversationId)}/messages`, { content: text }, {
        signal: AbortSignal.any([signal, stopper.signal]),
        onEvent: (type, data) => answer.handle(type, data),
      });
      if (answer.element.dataset.state === 'streaming') answer.complete();
      answering.textContent = 'Answer complete.';
    } catch (error) {
      if (signal.aborted) return;
      if (error.name === 'AbortError') answer.fail({ title: 'Stopped', detail: 'You stopped this answer.' });
      else answer.fail(error);
      answering.textContent = '';
    } finally {
      if (!signal.aborted) {
        setAnswering(false);
        answering.textContent = answer.element.dataset.state === 'completed' ? 'Answer complete.' : '';
        question.focus();
        conversations.load();
      }
    }
  }

  stopButton.addEventListener('click', () => stopper?.abort());
  composer.addEventListener('submit', async (event) => {
    event.preventDefault();
    const text = question.value.trim();
    if (!text) return;
    if (!conversationId) {
      sendButton.disabled = true;
      try {
        const created = await api.post('/conversations', {}, { signal });
        pendingQuestion = { conversationId: created.id, text };
        router.navigate(`/chat/${encodeURIComponent(created.id)}`);
      } catch (error) {
        if (error.name !== 'AbortError') fill(threadStatus, problem(error));
        sendButton.disabled = false;
      }
      return;
    }
    question.value = '';
    fill(threadStatus);
    ask(text);
  });
  question.addEventListener('keydown', (event) => {
    if (event.key === 'Enter' && (event.ctrlKey || event.metaKey)) composer.requestSubmit();
  });

  conversations.load();
  if (!conversationId) showEmptyThread();
  else {
    loadConversation().then((opened) => {
      if (!opened || pendingQuestion?.conversationId !== conversationId) return;
      const { text } = pendingQuestion;
      pendingQuestion = null;
      ask(text);
    });
  }
  return () => stopper?.abort();
}
