// The gateway's REST API under /api/v1, as this app calls it: the access token on every
// request, one silent refresh and retry on a 401, and every failure as an ApiError that
// carries the problem+json title and detail.

const BASE = '/api/v1';

// The members every problem has; anything else a problem carries is its extensions.
const PROBLEM_MEMBERS = new Set(['type', 'title', 'status', 'detail', 'instance', 'errors']);

export class ApiError extends Error {
  constructor({ status, title, detail = '', type = 'about:blank', errors = [], extensions = {} }) {
    super(detail ? `${title}: ${detail}` : title);
    this.name = 'ApiError';
    this.status = status;
    this.title = title;
    this.detail = detail;
    this.type = type;
    this.errors = errors;
    this.extensions = extensions;
  }
}

function extensionsOf(body) {
  return Object.fromEntries(Object.entries(body).filter(([name]) => !PROBLEM_MEMBERS.has(name)));
}

function problemOf(status, statusText, contentType, text) {
  if (contentType.includes('json') && text) {
    try {
      const body = JSON.parse(text);
      return new ApiError({
        status,
        title: body.title || statusText || `HTTP ${status}`,
        detail: typeof body.detail === 'string' ? body.detail : '',
        type: body.type,
        errors: Array.isArray(body.errors) ? body.errors : [],
        extensions: body && typeof body === 'object' && !Array.isArray(body) ? extensionsOf(body) : {},
      });
    } catch (error) {
      if (!(error instanceof SyntaxError)) throw error;
    }
  }
  return new ApiError({ status, title: statusText || `HTTP ${status}`, detail: text.slice(0, 200) });
}

function unreachable() {
  return new ApiError({
    status: 0,
    title: 'The gateway cannot be reached',
    detail: 'Check the connection and try again.',
  });
}

function url(path, query) {
  const search = new URLSearchParams();
  for (const [name, value] of Object.entries(query ?? {})) {
    if (value !== undefined && value !== null && value !== '') search.set(name, String(value));
  }
  const text = search.toString();
  return `${BASE}${path}${text ? `?${text}` : ''}`;
}

/** One request; the answer's JSON (null for 204), or an ApiError. */
export async function send(method, path, { json, query, token, signal, headers: extra } = {}) {
  const headers = { Accept: 'application/json', ...extra };
  if (token) headers.Authorization = `Bearer ${token}`;
  if (json !== undefined) headers['Content-Type'] = 'application/json';
  let response;
  try {
    response = await fetch(url(path, query), {
      method,
      headers,
      body: json === undefined ? undefined : JSON.stringify(json),
      signal,
    });
  } catch (error) {
    if (error.name === 'AbortError') throw error;
    throw unreachable();
  }
  if (!response.ok) {
    const text = await response.text();
    throw problemOf(response.status, response.statusText, response.headers.get('content-type') ?? '', text);
  }
  return response.status === 204 ? null : response.json();
}

function uploadOnce(path, form, token, onProgress) {
  return new Promise((resolve, reject) => {
    const request = new XMLHttpRequest();
    request.open('POST', url(path));
    request.setRequestHeader('Accept', 'application/json');
    if (token) request.setRequestHeader('Authorization', `Bearer ${token}`);
    request.upload.addEventListener('progress', (event) => {
      if (event.lengthComputable) onProgress(event.loaded / event.total);
    });
    request.addEventListener('load', () => {
      const contentType = request.getResponseHeader('content-type') ?? '';
      if (request.status >= 200 && request.status < 300) {
        onProgress(1);
        resolve({ status: request.status, body: JSON.parse(request.responseText) });
      } else {
        reject(problemOf(request.status, request.statusText, contentType, request.responseText));
      }
    });
    request.addEventListener('error', () => reject(unreachable()));
    request.send(form);
  });
}

/** The API as the signed-in user calls it. */
export class Api {
  constructor(session) {
    this.session = session;
  }

  async request(method, path, options = {}) {
    const token = this.session.accessToken;
    try {
      return await send(method, path, { ...options, token });
    } catch (error) {
      // An access token that lapsed (a sleeping laptop misses its refresh): refresh once.
      if (error instanceof ApiError && error.status === 401 && token && (await this.session.refresh())) {
        return send(method, path, { ...options, token: this.session.accessToken });
      }
      throw error;
    }
  }

  get(path, options) {
    return this.request('GET', path, options);
  }

  post(path, json, options = {}) {
    return this.request('POST', path, { ...options, json });
  }

  put(path, json, options = {}) {
    return this.request('PUT', path, { ...options, json });
  }

  delete(path, options) {
    return this.request('DELETE', path, options);
  }

  /** A multipart upload; `onProgress` gets the fraction of the body sent (0 to 1). */
  async upload(path, form, onProgress = () => {}) {
    const token = this.session.accessToken;
    try {
      return await uploadOnce(path, form, token, onProgress);
    } catch (error) {
      if (error instanceof ApiError && error.status === 401 && token && (await this.session.refresh())) {
        onProgress(0);
        return uploadOnce(path, form, this.session.accessToken, onProgress);
      }
      throw error;
    }
  }
}
