/** How the issuer delivers the signature: in the URL, or as cookies. */
export type Mode = 'url' | 'cookies';

/** The issuer's `session` object (docs/sessions.md). */
export interface SessionInfo {
  readonly id: string;
  /** The last moment it can renew (the signature's expiry plus the grace). */
  readonly expires_at: string;
  /** When to renew: two thirds into the signature's life. */
  readonly refresh_at: string;
  /** Ends this session, and no other, without the bearer token. */
  readonly end_token: string;
}

/** The issuer's answer to a start or a renewal. */
export interface Answer {
  readonly manifest_url: string;
  /** When the signature expires. */
  readonly expires_at: string;
  readonly mode: Mode;
  readonly session: SessionInfo;
  readonly poster_url?: string;
  /** The end of the viewer's grant (a rental). */
  readonly grant_expires_at?: string;
  readonly tracks?: unknown;
}

/** One of the viewer's active sessions, as the issuer lists them. */
export interface OtherSession {
  readonly id: string;
  readonly video_id: string;
  readonly device?: string;
  /** Epoch seconds. */
  readonly started: number;
  readonly renewed: number;
}

/** A refusal's JSON body (`error` is its code). */
export interface RefusalBody {
  readonly error?: string;
  readonly message?: string;
  readonly reason?: string;
  readonly sessions?: readonly OtherSession[];
  readonly max_streams?: number;
  /** With a playback rule's refusal: which rule (`video.countries`, `grant.countries`, `video.origins`, `video.window`). */
  readonly rule?: string;
  /** With `country_not_allowed`: the viewer's country as the CDN saw it (`null`: unknown). */
  readonly country?: string | null;
  /** With `not_yet_available` / `no_longer_available`: the window's edge (RFC 3339). */
  readonly available_from?: string;
  readonly available_until?: string;
  readonly request_id?: string;
}

/** A refusal from the issuer, or the edge's 403 that could not be renewed away. */
export class PlaybackError extends Error {
  readonly status: number;
  /** The issuer's code (`too_many_streams`, `session_ended`, …), or `http_STATUS`, or `network`. */
  readonly code: string;
  readonly body: RefusalBody;

  constructor(status: number, body: RefusalBody, fallback?: string) {
    super(body.message ?? body.error ?? fallback ?? `HTTP ${status}`);
    this.name = 'PlaybackError';
    this.status = status;
    this.code = body.error ?? (status === 0 ? 'network' : `http_${status}`);
    this.body = body;
  }
}
