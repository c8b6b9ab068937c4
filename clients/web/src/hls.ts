import type { Playback } from './playback.js';

/** hls.js's load policy (1.x), as far as the adapter touches it. */
interface LoadPolicy {
  default: {
    errorRetry?: { maxNumRetry: number; retryDelayMs: number; maxRetryDelayMs: number; shouldRetry?: unknown } | null;
    [k: string]: unknown;
  };
}

/** What `attachHls` needs of an hls.js (1.x) instance. */
export interface HlsLike {
  config: {
    xhrSetup?: ((xhr: XMLHttpRequest, url: string) => void | Promise<void>) | undefined;
    fetchSetup?: ((context: { url: string }, init: RequestInit) => Request) | undefined;
    fragLoadPolicy: LoadPolicy;
    playlistLoadPolicy: LoadPolicy;
    keyLoadPolicy: LoadPolicy;
  };
  stopLoad(): void;
}

type ShouldRetry = (
  config: unknown,
  count: number,
  timeout: boolean,
  response: { code?: number } | undefined,
  retry: boolean,
) => boolean;

/**
 * Makes `hls` a session's player: each request waits for a renewal in flight
 * and goes out with the current signature (URL mode) or the cookies
 * (cookie mode); a 403 renews once and retries; loading stops when the
 * session ends. Call before `loadSource`. Returns a function that detaches.
 */
export function attachHls(hls: HlsLike, playback: Playback): () => void {
  const c = hls.config;
  const saved = {
    xhrSetup: c.xhrSetup,
    fetchSetup: c.fetchSetup,
    frag: c.fragLoadPolicy,
    playlist: c.playlistLoadPolicy,
    key: c.keyLoadPolicy,
  };
  const retry403: ShouldRetry = (_config, _count, _timeout, response, retry) =>
    response?.code === 403 ? playback.forbidden() : retry;
  const withRetry = (p: LoadPolicy): LoadPolicy => {
    const e = p.default.errorRetry ?? { maxNumRetry: 0, retryDelayMs: 0, maxRetryDelayMs: 0 };
    return {
      default: { ...p.default, errorRetry: { ...e, maxNumRetry: Math.max(1, e.maxNumRetry), shouldRetry: retry403 } },
    };
  };
  c.fragLoadPolicy = withRetry(c.fragLoadPolicy);
  c.playlistLoadPolicy = withRetry(c.playlistLoadPolicy);
  c.keyLoadPolicy = withRetry(c.keyLoadPolicy);
  c.xhrSetup = async (xhr, url) => {
    await playback.ready();
    if (playback.mode === 'cookies') {
      xhr.withCredentials = true;
      return;
    }
    // hls.js sends the request as opened here.
    xhr.open('GET', playback.sign(url), true);
  };
  c.fetchSetup = (context, init) =>
    new Request(playback.sign(context.url), playback.mode === 'cookies' ? { ...init, credentials: 'include' } : init);
  const off = playback.on('ended', () => hls.stopLoad());
  return () => {
    off();
    c.xhrSetup = saved.xhrSetup;
    c.fetchSetup = saved.fetchSetup;
    c.fragLoadPolicy = saved.frag;
    c.playlistLoadPolicy = saved.playlist;
    c.keyLoadPolicy = saved.key;
  };
}
