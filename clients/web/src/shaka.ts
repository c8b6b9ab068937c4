import type { Playback } from './playback.js';

interface ShakaRequest {
  uris: string[];
  allowCrossSiteCredentials: boolean;
}
type RequestFilter = (type: number, request: ShakaRequest) => void | Promise<void>;
interface RetryEvent {
  /** A shaka.util.Error; for a bad HTTP status `data[1]` is the status. */
  error?: { data?: readonly unknown[] } | null;
}

/** What `attachShaka` needs of a Shaka Player (4.x, 5.x). */
export interface ShakaLike {
  getNetworkingEngine(): {
    registerRequestFilter(filter: RequestFilter): void;
    unregisterRequestFilter(filter: RequestFilter): void;
    addEventListener(type: 'retry', listener: (e: RetryEvent) => void): void;
    removeEventListener(type: 'retry', listener: (e: RetryEvent) => void): void;
  } | null;
  unload(): Promise<void>;
}

/**
 * Makes `player` a session's player: a request filter (Shaka awaits it, and
 * runs it again on every retry) waits for a renewal in flight and signs the
 * request's URIs (URL mode) or sends credentials (cookie mode); a retry after
 * a 403 renews once; the player unloads when the session ends. Call before
 * `load`. Returns a function that detaches.
 */
export function attachShaka(player: ShakaLike, playback: Playback): () => void {
  const net = player.getNetworkingEngine();
  if (net === null) throw new Error('hlsgate: the Shaka player has no networking engine (destroyed?)');
  const filter: RequestFilter = async (_type, request) => {
    await playback.ready();
    if (playback.mode === 'cookies') request.allowCrossSiteCredentials = true;
    else request.uris = request.uris.map((u) => playback.sign(u));
  };
  const onRetry = (e: RetryEvent) => {
    if (e.error?.data?.[1] === 403) playback.forbidden();
  };
  net.registerRequestFilter(filter);
  net.addEventListener('retry', onRetry);
  const off = playback.on('ended', () => {
    void player.unload();
  });
  return () => {
    off();
    net.unregisterRequestFilter(filter);
    net.removeEventListener('retry', onRetry);
  };
}
