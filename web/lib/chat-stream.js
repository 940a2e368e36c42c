// A chat answer as server-sent events: EventSource can neither POST nor send a Bearer
// header, so the stream is read with fetch and a ReadableStream, and split into events
// (`event: <type>` / `data: <json>`, a blank line ending each).

import { ApiError } from './api.js';

const BASE = '/api/v1';

async function problemFrom(response) {
  const text = await response.text();
  const contentType = response.headers.get('content-type') ?? '';
  if (contentType.includes('json') && text) {
    try {
      const body = JSON.parse(text);
      return new ApiError({
        status: response.status,
        title: body.title || response.statusText || `HTTP ${response.status}`,
        detail: typeof body.detail === 'string' ? body.detail : '',
        type: body.type,
        errors: Array.isArray(body.errors) ? body.errors : [],
      });
    } catch (error) {
      if (!(error instanceof SyntaxError)) throw error;
    }
  }
  return new ApiError({ status: response.status, title: response.statusText || `HTTP ${response.status}`, detail: text.slice(0, 200) });
}

function post(path, json, token, signal) {
  return fetch(`${BASE}${path}`, {
    method: 'POST',
    headers: { Accept: 'text/event-stream', 'Content-Type': 'application/json', Authorization: `Bearer ${token}` },
    body: JSON.stringify(json),
    signal,
  });
}

async function open(session, path, json, signal) {
  let response;
  try {
    response = await post(path, json, session.accessToken, signal);
    if (response.status === 401 && (await session.refresh())) {
      response = await post(path, json, session.accessToken, signal);
    }
  } catch (error) {
    if (error.name === 'AbortError') throw error;
    throw new ApiError({ status: 0, title: 'The gateway cannot be reached', detail: 'Check the connection and try again.' });
  }
  if (!response.ok) throw await problemFrom(response);
  return response;
}

/** One event block's type and parsed data, or null for a comment or keep-alive. */
export function parseEvent(block) {
  let type = 'message';
  const data = [];
  for (const line of block.split('\n')) {
    if (line.startsWith(':')) continue;
    const colon = line.indexOf(':');
    const field = colon === -1 ? line : line.slice(0, colon);
    const value = colon === -1 ? '' : line.slice(colon + 1).replace(/^ /, '');
    if (field === 'event') type = value;
    else if (field === 'data') data.push(value);
  }
  if (data.length === 0) return null;
  return { type, data: JSON.parse(data.join('\n')) };
}

/**
 * POST `json` to `path` and call `onEvent(type, data)` for each event of the answer, in
 * order, until the stream ends. A problem before the stream rejects with an ApiError.
 */
export async function streamEvents(session, path, json, { signal, onEvent }) {
  const response = await open(session, path, json, signal);
  const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = '';
  let carried = ''; // a chunk's last '\r' may be the first half of a '\r\n'
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    let text = carried + value;
    carried = text.endsWith('\r') ? '\r' : '';
    if (carried) text = text.slice(0, -1);
    buffer += text.replace(/\r\n?/g, '\n');
    let end;
    while ((end = buffer.indexOf('\n\n')) !== -1) {
      const event = parseEvent(buffer.slice(0, end));
      buffer = buffer.slice(end + 2);
      if (event) onEvent(event.type, event.data);
    }
  }
  const last = buffer.trim() ? parseEvent(buffer) : null;
  if (last) onEvent(last.type, last.data);
}
