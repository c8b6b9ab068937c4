// Generated from clients/web by `make client-bundle` (node scripts/bundle.mjs --dev); do not edit.
// src/explain.ts
var devices = (s) => {
  const named = s.map((x) => x.device).filter((d) => d !== void 0);
  return named.length > 0 ? ` (${named.join(", ")})` : "";
};
function explain(error) {
  const b = error.body;
  switch (error.code) {
    case "unauthenticated":
      return { message: "Please sign in again.", action: "sign-in" };
    case "not_entitled":
      switch (b.reason) {
        case "grant_expired":
          return { message: "Your access to this video has ended.", action: "buy" };
        case "grant_not_yet":
          return { message: "This video is not available to you yet.", action: "none" };
        default:
          return { message: "Your account does not include this video.", action: "buy" };
      }
    case "too_many_streams": {
      const s = b.sessions ?? [];
      const n = b.max_streams ?? s.length;
      return {
        message: `You are already watching on ${n} screen${n === 1 ? "" : "s"}${devices(s)}. Stop one to watch here.`,
        action: "end-other-sessions",
        sessions: s
      };
    }
    case "country_not_allowed":
      return {
        message: `This video is not available in your country${b.country ? ` (${b.country})` : ""}.`,
        action: "none"
      };
    case "origin_not_allowed":
      return { message: "This video cannot be played on this site.", action: "none" };
    case "not_yet_available":
      return {
        message: `This video is not available yet${b.available_from ? ` (from ${b.available_from})` : ""}.`,
        action: "none"
      };
    case "no_longer_available":
      return { message: "This video is no longer available.", action: "none" };
    case "session_ended":
      return { message: b.message ?? "This playback was ended from another screen.", action: "restart" };
    case "session_expired":
      return { message: "This playback paused too long; start it again.", action: "restart" };
    case "forbidden":
      return { message: "The video server refused this playback.", action: "restart" };
    case "entitlement_unavailable":
    case "sessions_unavailable":
    case "keys_unavailable":
    case "storage_busy":
    case "network":
      return { message: "The video service is busy. Trying again shortly.", action: "retry" };
    case "not_found":
      return { message: "This video is not ready yet.", action: "retry" };
    default:
      return {
        message: error.status >= 500 ? "The video service had a problem." : "This video cannot play here.",
        action: error.status >= 500 ? "retry" : "none"
      };
  }
}

// src/hls.ts
function attachHls(hls, playback) {
  const c = hls.config;
  const saved = {
    xhrSetup: c.xhrSetup,
    fetchSetup: c.fetchSetup,
    frag: c.fragLoadPolicy,
    playlist: c.playlistLoadPolicy,
    key: c.keyLoadPolicy
  };
  const retry403 = (_config, _count, _timeout, response, retry) => response?.code === 403 ? playback.forbidden() : retry;
  const withRetry = (p) => {
    const e = p.default.errorRetry ?? { maxNumRetry: 0, retryDelayMs: 0, maxRetryDelayMs: 0 };
    return {
      default: { ...p.default, errorRetry: { ...e, maxNumRetry: Math.max(1, e.maxNumRetry), shouldRetry: retry403 } }
    };
  };
  c.fragLoadPolicy = withRetry(c.fragLoadPolicy);
  c.playlistLoadPolicy = withRetry(c.playlistLoadPolicy);
  c.keyLoadPolicy = withRetry(c.keyLoadPolicy);
  c.xhrSetup = async (xhr, url) => {
    await playback.ready();
    if (playback.mode === "cookies") {
      xhr.withCredentials = true;
      return;
    }
    xhr.open("GET", playback.sign(url), true);
  };
  c.fetchSetup = (context, init) => new Request(playback.sign(context.url), playback.mode === "cookies" ? { ...init, credentials: "include" } : init);
  const off = playback.on("ended", () => hls.stopLoad());
  return () => {
    off();
    c.xhrSetup = saved.xhrSetup;
    c.fetchSetup = saved.fetchSetup;
    c.fragLoadPolicy = saved.frag;
    c.playlistLoadPolicy = saved.playlist;
    c.keyLoadPolicy = saved.key;
  };
}

// src/native.ts
function attachNative(video, playback) {
  if (playback.mode !== "cookies") {
    throw new Error(
      "hlsgate: native playback cannot renew a URL-mode signature (it takes no request hooks); start the playback with mode 'cookies', or use hls.js, Shaka or video.js"
    );
  }
  const answer = playback.answer;
  if (answer === void 0) throw new Error("hlsgate: start the playback before attaching a player");
  video.crossOrigin = "use-credentials";
  video.src = answer.manifest_url;
  return playback.on("ended", () => {
    video.pause();
  });
}

// src/params.ts
function withFreshParams(url, fresh) {
  const q = url.indexOf("?");
  if (q < 0 || fresh === "") return url;
  const hash = url.indexOf("#", q);
  const end = hash < 0 ? url.length : hash;
  const values = /* @__PURE__ */ new Map();
  for (const pair of fresh.split("&")) {
    const i = pair.indexOf("=");
    values.set(i < 0 ? pair : pair.slice(0, i), i < 0 ? "" : pair.slice(i + 1));
  }
  const query = url.slice(q + 1, end).split("&").map((pair) => {
    const i = pair.indexOf("=");
    const name = i < 0 ? pair : pair.slice(0, i);
    const value = values.get(name);
    return value === void 0 ? pair : `${name}=${value}`;
  });
  return url.slice(0, q + 1) + query.join("&") + url.slice(end);
}
function folderOf(manifestUrl) {
  const q = manifestUrl.indexOf("?");
  const path = q < 0 ? manifestUrl : manifestUrl.slice(0, q);
  const slash = path.lastIndexOf("/");
  if (slash < 0) return void 0;
  return { folder: path.slice(0, slash + 1), query: q < 0 ? "" : manifestUrl.slice(q + 1) };
}
function signInFolder(url, manifestUrl) {
  const f = folderOf(manifestUrl);
  if (f === void 0 || f.query === "") return url;
  let target;
  let folder;
  try {
    folder = new URL(f.folder);
    target = new URL(url, f.folder);
  } catch {
    return url;
  }
  if (target.origin !== folder.origin || !target.pathname.startsWith(folder.pathname)) return url;
  return withFreshParams(url, f.query);
}

// src/types.ts
var PlaybackError = class extends Error {
  constructor(status, body, fallback) {
    super(body.message ?? body.error ?? fallback ?? `HTTP ${status}`);
    this.name = "PlaybackError";
    this.status = status;
    this.code = body.error ?? (status === 0 ? "network" : `http_${status}`);
    this.body = body;
  }
};

// src/playback.ts
var FINAL = /* @__PURE__ */ new Set(["session_ended", "not_entitled", "too_many_streams", "unauthenticated", "forbidden"]);
var ENDING_SECONDS = 600;
var systemClock = {
  now: () => Date.now(),
  setTimeout: (fn, ms) => globalThis.setTimeout(fn, ms),
  clearTimeout: (h) => globalThis.clearTimeout(h)
};
var Session = class {
  constructor(o) {
    this.listeners = /* @__PURE__ */ new Map();
    this.refreshBy = 0;
    this.lifetimeMs = 0;
    this.last403Renewal = Number.NEGATIVE_INFINITY;
    this.onHide = () => {
      void this.end({ beacon: true });
    };
    this.o = o;
    this.videoId = o.videoId;
    this.mode = o.mode ?? "url";
    this.clock = o.clock ?? systemClock;
  }
  on(type, listener) {
    let set = this.listeners.get(type);
    if (set === void 0) {
      set = /* @__PURE__ */ new Set();
      this.listeners.set(type, set);
    }
    set.add(listener);
    return () => set.delete(listener);
  }
  emit(type, event) {
    for (const l of this.listeners.get(type) ?? []) l(event);
  }
  path(suffix = "") {
    return `${this.o.issuer}/playback/${encodeURIComponent(this.videoId)}${suffix}`;
  }
  query() {
    const q = new URLSearchParams({ mode: this.mode });
    if (this.o.device !== void 0) q.set("device", this.o.device);
    return q.toString();
  }
  /** One call to the issuer; a 401 asks `getToken` once more and tries again. */
  async call(method, url) {
    const go = (this.o.fetch ?? globalThis.fetch).bind(globalThis);
    for (let attempt = 0; ; attempt++) {
      const token = await this.o.getToken();
      let r;
      try {
        r = await go(url, {
          method,
          headers: { Authorization: `Bearer ${token}` },
          credentials: this.o.credentials ?? "same-origin"
        });
      } catch (e) {
        throw new PlaybackError(0, {}, String(e));
      }
      if (r.status === 401 && attempt === 0) continue;
      const body = r.status === 204 ? {} : await r.json().catch(() => ({}));
      if (!r.ok) throw new PlaybackError(r.status, body);
      return body;
    }
  }
  async start() {
    const answer = await this.call("GET", `${this.path()}?${this.query()}`).catch((e) => {
      throw this.refused(e);
    });
    this.accept(answer, "started");
    if (this.o.window !== null) (this.o.window ?? globalThis).addEventListener?.("pagehide", this.onHide);
    return answer;
  }
  refused(e) {
    if (e instanceof PlaybackError) this.emit("refused", e);
    return e;
  }
  accept(answer, event) {
    this.answer = answer;
    this.clock.clearTimeout(this.timer);
    const expires = Date.parse(answer.expires_at);
    const refresh = Date.parse(answer.session.refresh_at);
    const toRefresh = Math.max(1e3, 2 * (expires - refresh));
    this.lifetimeMs = 3 * (expires - refresh);
    this.refreshBy = this.clock.now() + toRefresh;
    this.timer = this.clock.setTimeout(() => {
      this.renew().catch(() => {
      });
    }, toRefresh);
    this.emit(event, answer);
    if (answer.grant_expires_at !== void 0) {
      const issuedAt = expires - this.lifetimeMs;
      const secondsLeft = Math.round((Date.parse(answer.grant_expires_at) - issuedAt) / 1e3);
      if (secondsLeft <= ENDING_SECONDS) this.emit("ending", { secondsLeft, answer });
    }
    return answer;
  }
  due() {
    return this.ended === void 0 && this.answer !== void 0 && this.clock.now() >= this.refreshBy;
  }
  renew() {
    if (this.ended !== void 0) return Promise.reject(this.ended.error ?? new Error(this.ended.reason));
    if (this.pending !== void 0) return this.pending;
    const answer = this.answer;
    if (answer === void 0) return this.start();
    const sid = encodeURIComponent(answer.session.id);
    const pending = this.call("POST", `${this.path(`/sessions/${sid}`)}?${this.query()}`).then((a) => this.accept(a, "renewed")).catch(async (e) => {
      if (e instanceof PlaybackError && e.code === "session_expired") {
        return this.accept(await this.call("GET", `${this.path()}?${this.query()}`), "started");
      }
      if (e instanceof PlaybackError && (FINAL.has(e.code) || e.status === 403)) {
        this.refused(e);
        this.stop({ reason: e.code, error: e });
        throw e;
      }
      this.clock.clearTimeout(this.timer);
      this.timer = this.clock.setTimeout(
        () => {
          this.renew().catch(() => {
          });
        },
        Math.min(1e4, Math.max(1e3, this.lifetimeMs / 10))
      );
      throw e;
    }).finally(() => {
      this.pending = void 0;
    });
    this.pending = pending;
    return pending;
  }
  async ready() {
    if (this.pending === void 0 && this.due()) this.renew().catch(() => {
    });
    if (this.pending !== void 0)
      await this.pending.then(
        () => void 0,
        () => void 0
      );
  }
  sign(url) {
    if (this.mode !== "url" || this.answer === void 0) return url;
    return signInFolder(url, this.answer.manifest_url);
  }
  forbidden() {
    if (this.ended !== void 0) return false;
    if (this.pending !== void 0) return true;
    const now = this.clock.now();
    if (now - this.last403Renewal < this.lifetimeMs) {
      const e = new PlaybackError(403, { error: "forbidden", message: "the edge refused the renewed signature" });
      this.refused(e);
      this.stop({ reason: "refused", error: e });
      return false;
    }
    this.last403Renewal = now;
    this.renew().catch(() => {
    });
    return true;
  }
  async others() {
    const b = await this.call("GET", this.path("/sessions"));
    const mine = this.answer?.session.id;
    return (b.sessions ?? []).filter((s) => s.id !== mine);
  }
  async endOthers() {
    const others = await this.others();
    await Promise.all(
      others.map(
        (s) => this.call(
          "DELETE",
          `${this.o.issuer}/playback/${encodeURIComponent(s.video_id)}/sessions/${encodeURIComponent(s.id)}`
        )
      )
    );
    return others.length;
  }
  stop(ended) {
    if (this.ended !== void 0) return;
    this.ended = ended;
    this.clock.clearTimeout(this.timer);
    if (this.o.window !== null) (this.o.window ?? globalThis).removeEventListener?.("pagehide", this.onHide);
    this.emit("ended", ended);
  }
  async end(options = {}) {
    const answer = this.answer;
    if (answer === void 0 || this.ended !== void 0) return;
    this.stop({ reason: "ended_here" });
    const sid = encodeURIComponent(answer.session.id);
    const beacon = this.o.sendBeacon ?? globalThis.navigator?.sendBeacon?.bind(globalThis.navigator);
    if (options.beacon === true && beacon !== void 0) {
      beacon(this.path(`/sessions/${sid}/end`), new URLSearchParams({ end_token: answer.session.end_token }));
      return;
    }
    await this.call("DELETE", this.path(`/sessions/${sid}`)).catch(() => {
    });
  }
};
function createPlayback(options) {
  return new Session(options);
}

// src/shaka.ts
function attachShaka(player, playback) {
  const net = player.getNetworkingEngine();
  if (net === null) throw new Error("hlsgate: the Shaka player has no networking engine (destroyed?)");
  const filter = async (_type, request) => {
    await playback.ready();
    if (playback.mode === "cookies") request.allowCrossSiteCredentials = true;
    else request.uris = request.uris.map((u) => playback.sign(u));
  };
  const onRetry = (e) => {
    if (e.error?.data?.[1] === 403) playback.forbidden();
  };
  net.registerRequestFilter(filter);
  net.addEventListener("retry", onRetry);
  const off = playback.on("ended", () => {
    void player.unload();
  });
  return () => {
    off();
    net.unregisterRequestFilter(filter);
    net.removeEventListener("retry", onRetry);
  };
}

// src/videojs.ts
function attachVideojs(player, playback) {
  const answer = playback.answer;
  if (answer === void 0) throw new Error("hlsgate: start the playback before attaching a player");
  const cookies = playback.mode === "cookies";
  const onRequest = (request) => {
    if (cookies) request.withCredentials = true;
    else request.uri = playback.sign(request.uri);
    return request;
  };
  const onResponse = (_request, _error, response) => {
    if (response?.statusCode === 403) playback.forbidden();
  };
  let xhr;
  const hook = () => {
    xhr = player.tech({ IWillNotUseThisInPlugins: true })?.vhs?.xhr;
    xhr?.onRequest(onRequest);
    xhr?.onResponse(onResponse);
  };
  player.on("xhr-hooks-ready", hook);
  player.src({ src: answer.manifest_url, type: "application/x-mpegURL", withCredentials: cookies });
  const off = playback.on("ended", () => player.pause());
  return () => {
    off();
    player.off("xhr-hooks-ready", hook);
    xhr?.offRequest(onRequest);
    xhr?.offResponse(onResponse);
  };
}
export {
  PlaybackError,
  attachHls,
  attachNative,
  attachShaka,
  attachVideojs,
  createPlayback,
  explain,
  signInFolder,
  withFreshParams
};
