// One message of a chat conversation as the reader sees it: the question, or the answer
// with a card per tool call (name, arguments, duration, result), the text rendered as
// markdown with each number marked grounded or not, its citations and its token and
// cost footer. An answer is built either event by event from the stream or at once from
// a stored message.

import { append, fill, h } from './dom.js';
import { renderMarkdown } from './markdown.js';
import { problem } from './status.js';

const GROUNDING_TITLES = {
  grounded: (number) => `Grounded: given by ${number.tool ?? 'a tool result'}`,
  ungrounded: () => 'Ungrounded: no tool result of this answer gives this number',
  from_question: () => 'Taken from the question',
};
const PASSAGE_QUERY_WORDS = 12;
const usd = new Intl.NumberFormat('en-US', { style: 'currency', currency: 'USD', minimumFractionDigits: 4, maximumFractionDigits: 6 });
const count = new Intl.NumberFormat('en-US');

export function duration(ms) {
  if (typeof ms !== 'number' || !Number.isFinite(ms)) return '';
  return ms >= 1000 ? `${(ms / 1000).toFixed(2)} s` : `${Math.round(ms)} ms`;
}

function escapePattern(text) {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** Wrap each number of `numbers` found in the text under `root` in a marked span. */
export function markNumbers(root, numbers) {
  const byText = new Map();
  for (const number of numbers) if (number.text && !byText.has(number.text)) byText.set(number.text, number);
  if (byText.size === 0) return;
  const texts = [...byText.keys()].sort((a, b) => b.length - a.length).map(escapePattern);
  const pattern = new RegExp(`(?<![\\p{N}.,])(${texts.join('|')})(?![\\p{N}]|[.,]\\p{N})`, 'u');
  const walker = document.createTreeWalker(root, NodeFilter.SHOW_TEXT);
  const nodes = [];
  while (walker.nextNode()) if (!walker.currentNode.parentElement.closest('.grounding-mark, .citation-ref')) nodes.push(walker.currentNode);
  for (const node of nodes) {
    const parts = node.data.split(new RegExp(pattern.source, 'gu'));
    if (parts.length === 1) continue;
    const replacement = document.createDocumentFragment();
    parts.forEach((part, i) => {
      if (i % 2 === 0) {
        if (part) replacement.append(part);
        return;
      }
      const number = byText.get(part);
      replacement.append(h('span', { class: `grounding-mark ${number.status}`, title: GROUNDING_TITLES[number.status]?.(number) ?? number.status, dataset: { grounding: number.status } }, part));
    });
    node.replaceWith(replacement);
  }
}

/** Turn each `[n]` of the text under `root` whose source is known into a link to it. */
function linkCitations(root, sources) {
  if (sources.size === 0) return;
  const walker = document.createTreeWalker(root, NodeFilter.SHOW_TEXT);
  const nodes = [];
  while (walker.nextNode()) if (!walker.currentNode.parentElement.closest('a, code, pre')) nodes.push(walker.currentNode);
  for (const node of nodes) {
    const parts = node.data.split(/(\[\d+\])/);
    if (parts.length === 1) continue;
    const replacement = document.createDocumentFragment();
    parts.forEach((part, i) => {
      const source = i % 2 === 1 ? sources.get(Number(part.slice(1, -1))) : null;
      if (source) replacement.append(h('a', { class: 'citation-ref', href: source.href, 'aria-label': `Source ${part}: ${source.filename}` }, part));
      else if (part) replacement.append(part);
    });
    node.replaceWith(replacement);
  }
}

function parsedArguments(value) {
  if (typeof value !== 'string') return value ?? {};
  try {
    return JSON.parse(value);
  } catch (error) {
    if (error instanceof SyntaxError) return value;
    throw error;
  }
}

class ToolCard {
  constructor({ call_id: callId, name, arguments: args }) {
    this.state = h('span', { class: 'tool-state' }, 'running…');
    this.duration = h('span', { class: 'tool-duration' });
    this.result = h('div', { class: 'tool-result' }, h('p', { class: 'note' }, 'Waiting for the result…'));
    const shown = parsedArguments(args);
    this.element = h(
      'li',
      { class: 'tool-call', dataset: { callId, state: 'running', tool: name } },
      h(
        'details',
        {},
        h('summary', {}, h('span', { class: 'tool-name' }, name), ' ', this.state, ' ', this.duration),
        h('div', { class: 'tool-body' }, h('p', { class: 'tool-label' }, 'Arguments'), h('pre', { class: 'tool-arguments' }, typeof shown === 'string' ? shown : JSON.stringify(shown, null, 2)), h('p', { class: 'tool-label' }, 'Result'), this.result),
      ),
    );
  }

  complete({ ok, duration_ms: ms, summary, error }) {
    this.element.dataset.state = ok ? 'ok' : 'failed';
    this.state.textContent = ok ? 'done' : 'failed';
    this.duration.textContent = duration(ms);
    fill(this.result, ok ? h('p', { class: 'tool-summary' }, summary || 'No summary.') : h('p', { class: 'tool-error' }, error || 'The tool failed.'));
  }
}

function passageQuery(citation, question) {
  if (citation.text) return citation.text.split(/\s+/).filter(Boolean).slice(0, PASSAGE_QUERY_WORDS).join(' ');
  return question || citation.filename;
}

export function userMessage(text) {
  return h('li', { class: 'message user' }, h('p', { class: 'message-author' }, 'You'), h('div', { class: 'message-text' }, text.split(/\n{2,}/).map((part) => h('p', {}, part))));
}

export class AssistantMessage {
  constructor(question) {
    this.question = question;
    this.text = '';
    this.numbers = [];
    this.cards = new Map();
    this.sources = new Map(); // [n] -> { href, filename }
    this.rendering = 0;
    this.badge = h('span', { class: 'message-badge' });
    this.offline = h('p', { class: 'offline-note', hidden: true }, 'Answered by the offline engine: no language model is configured, so the answer is written from the tool results by templates.');
    this.tools = h('ol', { class: 'tool-calls', 'aria-label': 'Tool calls' });
    this.answer = h('div', { class: 'answer' });
    this.citations = h('ol', { class: 'citations', hidden: true, 'aria-label': 'Sources' });
    this.grounding = h('p', { class: 'grounding-summary', hidden: true });
    this.problem = h('div', { class: 'message-problem' });
    this.usage = h('footer', { class: 'usage', hidden: true });
    this.element = h(
      'li',
      { class: 'message assistant', dataset: { state: 'streaming' } },
      h('p', { class: 'message-author' }, 'MarketScope', ' ', this.badge),
      this.offline,
      this.tools,
      this.answer,
      this.citations,
      this.grounding,
      this.problem,
      this.usage,
    );
  }

  showModel({ model, provider, offline }) {
    const isOffline = offline ?? provider === 'offline';
    this.badge.textContent = isOffline ? 'Offline engine' : [provider, model].filter(Boolean).join(' · ');
    this.badge.classList.toggle('offline', Boolean(isOffline));
    this.offline.hidden = !isOffline;
    this.element.dataset.offline = String(Boolean(isOffline));
  }

  /** One event of the stream. */
  handle(type, data) {
    const handlers = {
      'message.started': () => {
        this.element.dataset.messageId = data.message_id;
        this.showModel(data);
      },
      'message.delta': () => this.append(data.text),
      'tool_call.started': () => this.toolStarted(data),
      'tool_call.completed': () => this.toolCompleted(data),
      citation: () => this.addCitation(data),
      grounding: () => this.showGrounding(data.numbers, data),
      usage: () => this.showUsage(data),
      'message.completed': () => this.complete(data.text),
      error: () => this.fail({ title: 'The answer stopped', detail: data.detail }),
    };
    handlers[type]?.();
  }

  append(text) {
    this.text += text;
    if (this.rendering) return;
    this.rendering = requestAnimationFrame(() => {
      this.rendering = 0;
      this.render();
    });
  }

  render() {
    fill(this.answer, renderMarkdown(this.text));
    linkCitations(this.answer, this.sources);
    markNumbers(this.answer, this.numbers);
  }

  toolStarted(data) {
    if (this.cards.has(data.call_id)) return;
    const card = new ToolCard(data);
    this.cards.set(data.call_id, card);
    append(this.tools, card.element);
  }

  toolCompleted(data) {
    if (!this.cards.has(data.call_id)) this.toolStarted(data);
    this.cards.get(data.call_id).complete(data);
  }

  addCitation(citation) {
    if (this.sources.has(citation.index)) return;
    const query = passageQuery(citation, this.question);
    const href = `#/documents?q=${encodeURIComponent(query)}`;
    this.sources.set(citation.index, { href, filename: citation.filename });
    const where = citation.page ? `, page ${citation.page}` : '';
    append(
      this.citations,
      h(
        'li',
        { class: 'citation', dataset: { index: String(citation.index), documentId: citation.document_id } },
        h('span', { class: 'citation-index' }, `[${citation.index}]`),
        ' ',
        h('a', { href }, `${citation.filename}${where}`),
        citation.text ? h('span', { class: 'citation-text' }, ` — ${passageQuery(citation, '')}…`) : null,
      ),
    );
    this.citations.hidden = false;
    if (this.text) this.render();
  }

  showGrounding(numbers, totals = {}) {
    this.numbers = numbers ?? [];
    const grounded = totals.grounded ?? this.numbers.filter((n) => n.status === 'grounded').length;
    const ungrounded = totals.ungrounded ?? this.numbers.filter((n) => n.status === 'ungrounded').length;
    const asked = this.numbers.filter((n) => n.status === 'from_question').length;
    this.element.dataset.grounded = String(grounded);
    this.element.dataset.ungrounded = String(ungrounded);
    if (this.numbers.length) {
      fill(
        this.grounding,
        h('span', { class: 'grounding-mark grounded' }, `${grounded} grounded`),
        ' and ',
        h('span', { class: `grounding-mark ${ungrounded ? 'ungrounded' : 'grounded'}` }, `${ungrounded} ungrounded`),
        ` of the ${this.numbers.length} numbers checked against the tool results`,
        asked ? `; ${asked} ${asked === 1 ? 'is' : 'are'} from your question.` : '.',
      );
      this.grounding.hidden = false;
    }
    this.render();
  }

  showUsage({ prompt_tokens: prompt = 0, completion_tokens: completion = 0, total_tokens: total, cost_usd: cost = 0, estimated, model_calls: calls }) {
    const tokens = total ?? prompt + completion;
    fill(
      this.usage,
      h('span', { class: 'usage-tokens' }, `${count.format(tokens)} tokens (${count.format(prompt)} prompt, ${count.format(completion)} completion${estimated ? ', estimated' : ''})`),
      ' · ',
      h('span', { class: 'usage-cost' }, usd.format(cost)),
      calls !== undefined ? ` · ${calls} model ${calls === 1 ? 'call' : 'calls'}` : null,
    );
    this.usage.hidden = false;
  }

  complete(text) {
    if (typeof text === 'string') this.text = text;
    cancelAnimationFrame(this.rendering);
    this.rendering = 0;
    this.render();
    this.element.dataset.state = 'completed';
  }

  fail(error) {
    cancelAnimationFrame(this.rendering);
    this.rendering = 0;
    this.render();
    fill(this.problem, problem(error));
    this.element.dataset.state = 'failed';
    for (const card of this.cards.values()) {
      if (card.element.dataset.state === 'running') card.complete({ ok: false, error: 'No result: the answer stopped.' });
    }
  }

  /** A stored answer (GET /conversations/{id}), all at once. */
  static fromStored(message, question) {
    const view = new AssistantMessage(question);
    view.element.dataset.messageId = message.id;
    view.showModel({ model: message.model, provider: message.provider });
    for (const call of message.tool_calls ?? []) {
      view.toolStarted(call);
      view.toolCompleted(call);
    }
    for (const citation of message.citations ?? []) view.addCitation(citation);
    view.text = message.content ?? '';
    view.showGrounding(message.grounding ?? []);
    if (message.usage) view.showUsage(message.usage);
    if (message.error) view.fail({ title: 'The answer stopped', detail: message.error });
    else view.complete();
    return view;
  }
}
