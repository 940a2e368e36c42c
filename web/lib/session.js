// The signed-in user's session. The access token is kept in memory only, no token in
// storage; the refresh token is an HttpOnly cookie the gateway sets (X-Refresh-Cookie),
// which no script reads, so a reload restores the session with one refresh. Whether
// there may be such a cookie is a flag in localStorage (no secret: it is set while
// signed in and removed at the end of the session), so a first visit, or one after
// signing out, does not ask the gateway for a session it cannot have. The access
// token is renewed silently a minute before it expires; the refresh token is single use,
// so one rotation runs at a time. Events: 'change' (signed in or out; detail.reason) and
// 'token' (a new access token, which the WebSocket hands to the gateway).

import { ApiError, send } from './api.js';

const RENEW_BEFORE_SECONDS = 60;
const RETRY_SECONDS = 10;
const COOKIE = { 'X-Refresh-Cookie': '1' };
const SESSION_FLAG = 'marketscope.session';

/** The gateway refused the refresh token (spent, revoked, expired or missing). */
const sessionOver = (error) => error instanceof ApiError && (error.status === 401 || error.status === 422);

export class Session extends EventTarget {
  #tokens = null;
  #timer = null;
  #rotating = null;

  get user() {
    return this.#tokens?.user ?? null;
  }

  get accessToken() {
    return this.#tokens?.access_token ?? null;
  }

  get isAdmin() {
    return this.user?.roles.includes('admin') ?? false;
  }

  async signIn(email, password) {
    this.#accept(await send('POST', '/auth/login', { json: { email, password }, headers: COOKIE }), 'signed-in');
  }

  /** Resume the session of the refresh cookie, if there is one (a reload, a new tab).
   * Resolves to true when signed in; a missing or ended session resolves to false. */
  async restore() {
    if (localStorage.getItem(SESSION_FLAG) === null) return false;
    try {
      this.#accept(await send('POST', '/auth/refresh', { headers: COOKIE }), 'restored');
      return true;
    } catch (error) {
      if (!(error instanceof ApiError)) throw error;
      if (sessionOver(error)) localStorage.removeItem(SESSION_FLAG);
      return false;
    }
  }

  async signUp(email, password) {
    await send('POST', '/auth/register', { json: { email, password } });
    await this.signIn(email, password);
  }

  /** A new access token; false when the session is over. Concurrent callers share one. */
  refresh() {
    if (!this.#tokens) return Promise.resolve(false);
    this.#rotating ??= this.#rotate().finally(() => {
      this.#rotating = null;
    });
    return this.#rotating;
  }

  /** Revoke the session at the gateway, then forget it here. Resolves to the ApiError
   * of a revocation that failed (the tokens are forgotten all the same), or null. */
  async signOut() {
    if (!this.#tokens) return null;
    let failure = null;
    try {
      await send('POST', '/auth/logout', { headers: COOKIE });
    } catch (error) {
      if (!(error instanceof ApiError)) throw error;
      failure = error.status === 401 ? null : error; // already revoked: the goal holds
    }
    this.#end('signed-out');
    return failure;
  }

  async #rotate() {
    try {
      this.#accept(await send('POST', '/auth/refresh', { headers: COOKIE }), 'refreshed');
      return true;
    } catch (error) {
      if (sessionOver(error)) {
        this.#end('expired');
        return false;
      }
      // The gateway is unreachable or busy: the tokens may still be good; try again soon.
      this.#schedule(RETRY_SECONDS);
      return false;
    }
  }

  #accept(tokens, reason) {
    const first = this.#tokens === null;
    this.#tokens = tokens;
    localStorage.setItem(SESSION_FLAG, '1');
    this.#schedule(Math.max(5, tokens.expires_in - RENEW_BEFORE_SECONDS));
    this.dispatchEvent(new CustomEvent('token', { detail: { token: tokens.access_token } }));
    if (first) this.dispatchEvent(new CustomEvent('change', { detail: { reason } }));
  }

  #schedule(seconds) {
    clearTimeout(this.#timer);
    this.#timer = setTimeout(() => this.refresh(), seconds * 1000);
  }

  #end(reason) {
    clearTimeout(this.#timer);
    this.#tokens = null;
    localStorage.removeItem(SESSION_FLAG);
    this.dispatchEvent(new CustomEvent('change', { detail: { reason } }));
  }
}
