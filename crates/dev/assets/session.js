// A playback session for hls.js: starts it at the issuer, renews its
// signature before it expires (and once more on a 403, after a device
// slept), ends it when the page goes away, and says why when it stops.
//
// URL mode: every URI in a video's folder carries the same signed
// parameters (the rewriter copies them), so each request hls.js makes is
// re-pointed at the freshest ones. Cookie mode: a renewal sets new cookies
// on the edge's host; requests just carry them.
//
// No dependencies; hls.js is given, not imported. docs/sessions.md.

/** Codes after which the player stops instead of starting over. */
const FINAL = new Set(["session_ended", "not_entitled", "too_many_streams", "unauthenticated"]);

/** A refusal from the issuer: its HTTP status, code, message and body. */
export class SessionError extends Error {
  constructor(status, body) {
    super((body && (body.message || body.error)) || `HTTP ${status}`);
    this.status = status;
    this.code = (body && body.error) || `http_${status}`;
    this.body = body || {};
  }
}

/**
 * `url` with the value of each query parameter named in `fresh` (a raw
 * query string, `Policy=…&Signature=…`) replaced by its value there; other
 * parameters, their order and their encoding are kept byte for byte.
 */
export function withFreshParams(url, fresh) {
  const q = url.indexOf("?");
  if (q < 0 || !fresh) return url;
  const hash = url.indexOf("#", q);
  const end = hash < 0 ? url.length : hash;
  const values = new Map(fresh.split("&").map((p) => {
    const i = p.indexOf("=");
    return i < 0 ? [p, ""] : [p.slice(0, i), p.slice(i + 1)];
  }));
  const query = url.slice(q + 1, end).split("&").map((p) => {
    const i = p.indexOf("=");
    const name = i < 0 ? p : p.slice(0, i);
    return values.has(name) ? `${name}=${values.get(name)}` : p;
  });
  return url.slice(0, q + 1) + query.join("&") + url.slice(end);
}

export class PlaybackSession {
  /**
   * @param {object} o
   * @param {string} o.videoId
   * @param {string} [o.issuer] the issuer's origin ("" for the page's own, as behind the distribution)
   * @param {"url"|"cookies"} [o.mode]
   * @param {() => Record<string,string>} [o.headers] the bearer token's header, asked at each call
   * @param {string} [o.device] a label the viewer's other screens will see
   * @param {RequestCredentials} [o.credentials] "include" when the issuer is on another host (cookie mode)
   * @param {(answer: object) => void} [o.onUpdate] after each start and renewal
   * @param {(why: SessionError) => void} [o.onEnd] once, when playback must stop
   */
  constructor(o) {
    this.o = { issuer: "", mode: "url", headers: () => ({}), credentials: "same-origin", ...o };
    this.answer = null;
    this.pending = null;
    this.timer = null;
    this.retried403 = false;
    this.ended = null;
    this.onHide = () => this.end({ beacon: true });
    this.onShow = () => { if (document.visibilityState === "visible" && this.due()) this.renew().catch(() => {}); };
  }

  path(suffix = "") {
    return `${this.o.issuer}/playback/${encodeURIComponent(this.o.videoId)}${suffix}`;
  }

  async call(method, url) {
    const r = await fetch(url, { method, headers: this.o.headers(), credentials: this.o.credentials });
    const body = r.status === 204 ? {} : await r.json().catch(() => ({}));
    if (!r.ok) throw new SessionError(r.status, body);
    return body;
  }

  /** Starts the session: the issuer's answer (`manifest_url`, `session`, …). */
  async start() {
    const q = new URLSearchParams({ mode: this.o.mode });
    if (this.o.device) q.set("device", this.o.device);
    this.accept(await this.call("GET", `${this.path()}?${q}`));
    addEventListener("pagehide", this.onHide);
    document.addEventListener("visibilitychange", this.onShow);
    return this.answer;
  }

  accept(answer) {
    this.answer = answer;
    this.retried403 = false;
    clearTimeout(this.timer);
    // Server times, read as an interval: no trust in this device's clock.
    const expires = Date.parse(answer.expires_at), refresh = Date.parse(answer.session.refresh_at);
    const inMs = Math.max(1000, 2 * (expires - refresh));
    this.refreshBy = Date.now() + inMs;
    this.expiresBy = Date.now() + 3 * (expires - refresh);
    this.timer = setTimeout(() => this.renew().catch(() => {}), inMs);
    if (this.o.onUpdate) this.o.onUpdate(answer);
  }

  due() {
    return !this.ended && this.answer && Date.now() >= this.refreshBy;
  }

  /**
   * Renews now; concurrent callers share one renewal. A lapsed session
   * starts over; an ended one stops playback (onEnd). Network trouble is
   * tried again while the signature lasts.
   */
  renew() {
    if (this.ended) return Promise.reject(this.ended);
    if (this.pending) return this.pending;
    const sid = encodeURIComponent(this.answer.session.id);
    const q = new URLSearchParams({ mode: this.o.mode });
    this.pending = this.call("POST", `${this.path(`/sessions/${sid}`)}?${q}`)
      .then((a) => this.accept(a))
      .catch(async (e) => {
        if (e instanceof SessionError && e.code === "session_expired") {
          return this.accept(await this.call("GET", `${this.path()}?${q}`));
        }
        if (e instanceof SessionError && (FINAL.has(e.code) || e.status === 403)) {
          this.stop(e);
          throw e;
        }
        // Busy or offline: again soon, while the signature still holds.
        const left = this.expiresBy - Date.now();
        if (left > 0) this.timer = setTimeout(() => this.renew().catch(() => {}), Math.min(10000, Math.max(1000, left / 3)));
        throw e;
      })
      .finally(() => { this.pending = null; });
    return this.pending;
  }

  stop(why) {
    if (this.ended) return;
    this.ended = why;
    clearTimeout(this.timer);
    removeEventListener("pagehide", this.onHide);
    document.removeEventListener("visibilitychange", this.onShow);
    if (this.o.onEnd) this.o.onEnd(why);
  }

  /** The URL with this session's freshest signature (URL mode). */
  sign(url) {
    if (this.o.mode !== "url" || !this.answer) return url;
    const m = this.answer.manifest_url;
    const folder = m.slice(0, m.lastIndexOf("/", m.indexOf("?") < 0 ? m.length : m.indexOf("?")) + 1);
    if (!url.startsWith(folder)) return url;
    return withFreshParams(url, m.slice(m.indexOf("?") + 1));
  }

  /**
   * hls.js settings: each request waits for a renewal in flight and goes
   * out with the freshest signature; a 403 renews once and retries.
   * @param {object} defaults `Hls.DefaultConfig`
   */
  hlsConfig(defaults) {
    const retry403 = (config, count, timeout, response, retry) => {
      if (response && response.code === 403 && !this.retried403 && !this.ended) {
        this.retried403 = true;
        this.renew().catch(() => {});
        return true;
      }
      if (response && response.code === 403) this.stop(new SessionError(403, { error: "refused", message: "the edge refused the renewed signature" }));
      return retry;
    };
    const policy = (p) => {
      const d = (p && p.default) || {};
      const e = d.errorRetry || { maxNumRetry: 0, retryDelayMs: 0, maxRetryDelayMs: 0 };
      return { default: { ...d, errorRetry: { ...e, maxNumRetry: Math.max(1, e.maxNumRetry), shouldRetry: retry403 } } };
    };
    return {
      fragLoadPolicy: policy(defaults.fragLoadPolicy),
      playlistLoadPolicy: policy(defaults.playlistLoadPolicy),
      keyLoadPolicy: policy(defaults.keyLoadPolicy),
      xhrSetup: async (xhr, url) => {
        if (this.pending) await this.pending.catch(() => {});
        else if (this.due()) await this.renew().catch(() => {});
        if (this.o.mode === "cookies") {
          xhr.withCredentials = true;
          return;
        }
        xhr.open("GET", this.sign(url), true);
      },
    };
  }

  /** The viewer's other active sessions (empty without a sessions table). */
  async others() {
    const b = await this.call("GET", this.path("/sessions"));
    const mine = this.answer && this.answer.session.id;
    return (b.sessions || []).filter((s) => s.id !== mine);
  }

  /** Ends every other session of this viewer: each stops at its next renewal. */
  async endOthers() {
    const others = await this.others();
    await Promise.all(others.map((s) => this.call("DELETE",
      `${this.o.issuer}/playback/${encodeURIComponent(s.video_id)}/sessions/${encodeURIComponent(s.id)}`)));
    return others.length;
  }

  /**
   * Ends this session. `beacon`: with the end token through
   * `navigator.sendBeacon`, which still goes out while the page unloads.
   */
  end({ beacon = false } = {}) {
    if (!this.answer || this.ended) return Promise.resolve();
    const s = this.answer.session;
    const sid = encodeURIComponent(s.id);
    this.stop(new SessionError(410, { error: "ended_here", message: "this playback was ended on this page" }));
    if (beacon && navigator.sendBeacon) {
      navigator.sendBeacon(this.path(`/sessions/${sid}/end`), new URLSearchParams({ end_token: s.end_token }));
      return Promise.resolve();
    }
    return this.call("DELETE", this.path(`/sessions/${sid}`)).catch(() => {});
  }
}
