import { signInFolder } from './params.js';
import { type Answer, type Mode, type OtherSession, PlaybackError, type RefusalBody } from './types.js';

/** What `createPlayback` takes. */
export interface PlaybackOptions {
  /** The issuer's origin, `https://cdn.example.com` behind the distribution; `''` for the page's own. */
  readonly issuer: string;
  readonly videoId: string;
  /** The viewer's bearer token; asked before every call, and once more after a 401 (an expired token). */
  readonly getToken: () => string | Promise<string>;
  /** @default 'url' */
  readonly mode?: Mode;
  /** A label the viewer's other screens see (`Living room TV`). */
  readonly device?: string;
  /** `'include'` when the issuer is on another host and the mode is cookies. @default 'same-origin' */
  readonly credentials?: RequestCredentials;
  /** Where `pagehide` is listened for (the end beacon); `null` for none. @default globalThis */
  readonly window?: Pick<Window, 'addEventListener' | 'removeEventListener'> | null;
  /** For tests: the fetch, the beacon and the clock. */
  readonly fetch?: typeof fetch;
  readonly sendBeacon?: (url: string, body: URLSearchParams) => boolean;
  readonly clock?: Clock;
}

/** The clock a playback schedules renewals with. */
export interface Clock {
  now(): number;
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

/** Why playback ended. */
export interface Ended {
  /** The issuer's code (`session_ended`, `not_entitled`, …), `refused` (the edge), or `ended_here`. */
  readonly reason: string;
  readonly error?: PlaybackError;
}

/** The events a playback emits. */
export interface PlaybackEvents {
  started: Answer;
  renewed: Answer;
  /** A rental ends soon: seconds left of the viewer's grant. */
  ending: { readonly secondsLeft: number; readonly answer: Answer };
  ended: Ended;
  refused: PlaybackError;
}

/** A session-aware playback: start it, hand `manifest_url` to a player through an adapter. */
export interface Playback {
  readonly videoId: string;
  readonly mode: Mode;
  /** The latest answer (after `start`). */
  readonly answer: Answer | undefined;
  /** Set once playback has ended. */
  readonly ended: Ended | undefined;
  start(): Promise<Answer>;
  /** Renews now; concurrent calls share one request. */
  renew(): Promise<Answer>;
  /** Resolves when no renewal is in flight (and renews first when one is due). */
  ready(): Promise<void>;
  /** `url` with the current signature when it is in the video's folder (URL mode); else unchanged. */
  sign(url: string): string;
  /**
   * A request in the folder got a 403: renews once (sharing a renewal in
   * flight) and says whether to retry; a second 403 soon after ends playback.
   */
  forbidden(): boolean;
  /** The viewer's other active sessions. */
  others(): Promise<OtherSession[]>;
  /** Ends every other session of the viewer; how many. */
  endOthers(): Promise<number>;
  /** Ends this session; `beacon` sends the end token with `sendBeacon` (a closing page). */
  end(options?: { beacon?: boolean }): Promise<void>;
  on<K extends keyof PlaybackEvents>(type: K, listener: (event: PlaybackEvents[K]) => void): () => void;
}

/** Codes after which playback stops instead of starting over. */
const FINAL = new Set(['session_ended', 'not_entitled', 'too_many_streams', 'unauthenticated', 'forbidden']);
/** Ten minutes: when a rental's end is announced. */
const ENDING_SECONDS = 600;

const systemClock: Clock = {
  now: () => Date.now(),
  setTimeout: (fn, ms) => globalThis.setTimeout(fn, ms),
  clearTimeout: (h) => globalThis.clearTimeout(h as ReturnType<typeof setTimeout>),
};

class Session implements Playback {
  readonly videoId: string;
  readonly mode: Mode;
  answer: Answer | undefined;
  ended: Ended | undefined;
  private readonly o: PlaybackOptions;
  private readonly clock: Clock;
  private readonly listeners = new Map<keyof PlaybackEvents, Set<(e: never) => void>>();
  private pending: Promise<Answer> | undefined;
  private timer: unknown;
  private refreshBy = 0;
  private lifetimeMs = 0;
  private last403Renewal = Number.NEGATIVE_INFINITY;
  private readonly onHide = () => {
    void this.end({ beacon: true });
  };

  constructor(o: PlaybackOptions) {
    this.o = o;
    this.videoId = o.videoId;
    this.mode = o.mode ?? 'url';
    this.clock = o.clock ?? systemClock;
  }

  on<K extends keyof PlaybackEvents>(type: K, listener: (event: PlaybackEvents[K]) => void): () => void {
    let set = this.listeners.get(type);
    if (set === undefined) {
      set = new Set();
      this.listeners.set(type, set);
    }
    set.add(listener as (e: never) => void);
    return () => set.delete(listener as (e: never) => void);
  }

  private emit<K extends keyof PlaybackEvents>(type: K, event: PlaybackEvents[K]): void {
    for (const l of this.listeners.get(type) ?? []) (l as (e: PlaybackEvents[K]) => void)(event);
  }

  private path(suffix = ''): string {
    return `${this.o.issuer}/playback/${encodeURIComponent(this.videoId)}${suffix}`;
  }

  private query(): string {
    const q = new URLSearchParams({ mode: this.mode });
    if (this.o.device !== undefined) q.set('device', this.o.device);
    return q.toString();
  }

  /** One call to the issuer; a 401 asks `getToken` once more and tries again. */
  private async call<T>(method: string, url: string): Promise<T> {
    const go = (this.o.fetch ?? globalThis.fetch).bind(globalThis);
    for (let attempt = 0; ; attempt++) {
      const token = await this.o.getToken();
      let r: Response;
      try {
        r = await go(url, {
          method,
          headers: { Authorization: `Bearer ${token}` },
          credentials: this.o.credentials ?? 'same-origin',
        });
      } catch (e) {
        throw new PlaybackError(0, {}, String(e));
      }
      if (r.status === 401 && attempt === 0) continue;
      const body = (r.status === 204 ? {} : await r.json().catch(() => ({}))) as T & RefusalBody;
      if (!r.ok) throw new PlaybackError(r.status, body);
      return body;
    }
  }

  async start(): Promise<Answer> {
    const answer = await this.call<Answer>('GET', `${this.path()}?${this.query()}`).catch((e: unknown) => {
      throw this.refused(e);
    });
    this.accept(answer, 'started');
    if (this.o.window !== null) (this.o.window ?? globalThis).addEventListener?.('pagehide', this.onHide);
    return answer;
  }

  private refused(e: unknown): unknown {
    if (e instanceof PlaybackError) this.emit('refused', e);
    return e;
  }

  private accept(answer: Answer, event: 'started' | 'renewed'): Answer {
    this.answer = answer;
    this.clock.clearTimeout(this.timer);
    // Server times, read as an interval: this device's clock does not matter.
    const expires = Date.parse(answer.expires_at);
    const refresh = Date.parse(answer.session.refresh_at);
    const toRefresh = Math.max(1000, 2 * (expires - refresh));
    this.lifetimeMs = 3 * (expires - refresh);
    this.refreshBy = this.clock.now() + toRefresh;
    this.timer = this.clock.setTimeout(() => {
      this.renew().catch(() => {});
    }, toRefresh);
    this.emit(event, answer);
    if (answer.grant_expires_at !== undefined) {
      const issuedAt = expires - this.lifetimeMs;
      const secondsLeft = Math.round((Date.parse(answer.grant_expires_at) - issuedAt) / 1000);
      if (secondsLeft <= ENDING_SECONDS) this.emit('ending', { secondsLeft, answer });
    }
    return answer;
  }

  private due(): boolean {
    return this.ended === undefined && this.answer !== undefined && this.clock.now() >= this.refreshBy;
  }

  renew(): Promise<Answer> {
    if (this.ended !== undefined) return Promise.reject(this.ended.error ?? new Error(this.ended.reason));
    if (this.pending !== undefined) return this.pending;
    const answer = this.answer;
    if (answer === undefined) return this.start();
    const sid = encodeURIComponent(answer.session.id);
    const pending = this.call<Answer>('POST', `${this.path(`/sessions/${sid}`)}?${this.query()}`)
      .then((a) => this.accept(a, 'renewed'))
      .catch(async (e: unknown) => {
        if (e instanceof PlaybackError && e.code === 'session_expired') {
          // Lapsed (a long sleep): a new session, as a new start would.
          return this.accept(await this.call<Answer>('GET', `${this.path()}?${this.query()}`), 'started');
        }
        if (e instanceof PlaybackError && (FINAL.has(e.code) || e.status === 403)) {
          this.refused(e);
          this.stop({ reason: e.code, error: e });
          throw e;
        }
        // Busy or offline: again soon, while the signature may still hold.
        this.clock.clearTimeout(this.timer);
        this.timer = this.clock.setTimeout(
          () => {
            this.renew().catch(() => {});
          },
          Math.min(10_000, Math.max(1000, this.lifetimeMs / 10)),
        );
        throw e;
      })
      .finally(() => {
        this.pending = undefined;
      });
    this.pending = pending;
    return pending;
  }

  async ready(): Promise<void> {
    if (this.pending === undefined && this.due()) this.renew().catch(() => {});
    if (this.pending !== undefined)
      await this.pending.then(
        () => undefined,
        () => undefined,
      );
  }

  sign(url: string): string {
    if (this.mode !== 'url' || this.answer === undefined) return url;
    return signInFolder(url, this.answer.manifest_url);
  }

  forbidden(): boolean {
    if (this.ended !== undefined) return false;
    if (this.pending !== undefined) return true;
    const now = this.clock.now();
    if (now - this.last403Renewal < this.lifetimeMs) {
      const e = new PlaybackError(403, { error: 'forbidden', message: 'the edge refused the renewed signature' });
      this.refused(e);
      this.stop({ reason: 'refused', error: e });
      return false;
    }
    this.last403Renewal = now;
    this.renew().catch(() => {});
    return true;
  }

  async others(): Promise<OtherSession[]> {
    const b = await this.call<{ sessions?: OtherSession[] }>('GET', this.path('/sessions'));
    const mine = this.answer?.session.id;
    return (b.sessions ?? []).filter((s) => s.id !== mine);
  }

  async endOthers(): Promise<number> {
    const others = await this.others();
    await Promise.all(
      others.map((s) =>
        this.call(
          'DELETE',
          `${this.o.issuer}/playback/${encodeURIComponent(s.video_id)}/sessions/${encodeURIComponent(s.id)}`,
        ),
      ),
    );
    return others.length;
  }

  private stop(ended: Ended): void {
    if (this.ended !== undefined) return;
    this.ended = ended;
    this.clock.clearTimeout(this.timer);
    if (this.o.window !== null) (this.o.window ?? globalThis).removeEventListener?.('pagehide', this.onHide);
    this.emit('ended', ended);
  }

  async end(options: { beacon?: boolean } = {}): Promise<void> {
    const answer = this.answer;
    if (answer === undefined || this.ended !== undefined) return;
    this.stop({ reason: 'ended_here' });
    const sid = encodeURIComponent(answer.session.id);
    const beacon = this.o.sendBeacon ?? globalThis.navigator?.sendBeacon?.bind(globalThis.navigator);
    if (options.beacon === true && beacon !== undefined) {
      beacon(this.path(`/sessions/${sid}/end`), new URLSearchParams({ end_token: answer.session.end_token }));
      return;
    }
    await this.call('DELETE', this.path(`/sessions/${sid}`)).catch(() => {});
  }
}

/** A playback of `videoId`: `await playback.start()`, then attach a player. */
export function createPlayback(options: PlaybackOptions): Playback {
  return new Session(options);
}
