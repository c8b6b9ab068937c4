import type { OtherSession, PlaybackError } from './types.js';

/** What to tell the viewer, and what the app may offer. */
export interface Explanation {
  /** A short sentence for the viewer. */
  readonly message: string;
  /**
   * `sign-in` (get a new token), `buy` (no or an ended grant), `end-other-sessions`
   * (the sessions listed), `retry` (a moment later), `restart` (start a new
   * playback), or `none`.
   */
  readonly action: 'sign-in' | 'buy' | 'end-other-sessions' | 'retry' | 'restart' | 'none';
  /** With `end-other-sessions`: the viewer's sessions. */
  readonly sessions?: readonly OtherSession[];
}

const devices = (s: readonly OtherSession[]): string => {
  const named = s.map((x) => x.device).filter((d): d is string => d !== undefined);
  return named.length > 0 ? ` (${named.join(', ')})` : '';
};

/** The issuer's refusal (or the edge's 403) as words and an action. */
export function explain(error: PlaybackError): Explanation {
  const b = error.body;
  switch (error.code) {
    case 'unauthenticated':
      return { message: 'Please sign in again.', action: 'sign-in' };
    case 'not_entitled':
      switch (b.reason) {
        case 'grant_expired':
          return { message: 'Your access to this video has ended.', action: 'buy' };
        case 'grant_not_yet':
          return { message: 'This video is not available to you yet.', action: 'none' };
        default:
          return { message: 'Your account does not include this video.', action: 'buy' };
      }
    case 'too_many_streams': {
      const s = b.sessions ?? [];
      const n = b.max_streams ?? s.length;
      return {
        message: `You are already watching on ${n} screen${n === 1 ? '' : 's'}${devices(s)}. Stop one to watch here.`,
        action: 'end-other-sessions',
        sessions: s,
      };
    }
    case 'country_not_allowed':
      return {
        message: `This video is not available in your country${b.country ? ` (${b.country})` : ''}.`,
        action: 'none',
      };
    case 'origin_not_allowed':
      return { message: 'This video cannot be played on this site.', action: 'none' };
    case 'not_yet_available':
      return {
        message: `This video is not available yet${b.available_from ? ` (from ${b.available_from})` : ''}.`,
        action: 'none',
      };
    case 'no_longer_available':
      return { message: 'This video is no longer available.', action: 'none' };
    case 'session_ended':
      return { message: b.message ?? 'This playback was ended from another screen.', action: 'restart' };
    case 'session_expired':
      return { message: 'This playback paused too long; start it again.', action: 'restart' };
    case 'forbidden':
      return { message: 'The video server refused this playback.', action: 'restart' };
    case 'entitlement_unavailable':
    case 'sessions_unavailable':
    case 'keys_unavailable':
    case 'storage_busy':
    case 'network':
      return { message: 'The video service is busy. Trying again shortly.', action: 'retry' };
    case 'not_found':
      return { message: 'This video is not ready yet.', action: 'retry' };
    default:
      return {
        message: error.status >= 500 ? 'The video service had a problem.' : 'This video cannot play here.',
        action: error.status >= 500 ? 'retry' : 'none',
      };
  }
}
