import type { Playback } from './playback.js';

interface VhsRequest {
  uri: string;
  withCredentials?: boolean;
}
type OnRequest = (request: VhsRequest) => VhsRequest;
type OnResponse = (request: unknown, error: unknown, response: { statusCode?: number } | undefined) => void;
interface VhsXhr {
  onRequest(hook: OnRequest): void;
  offRequest(hook: OnRequest): void;
  onResponse(hook: OnResponse): void;
  offResponse(hook: OnResponse): void;
}

/** What `attachVideojs` needs of a video.js (8.x) player with VHS. */
export interface VideojsLike {
  on(type: string, listener: () => void): void;
  off(type: string, listener: () => void): void;
  tech(options: { IWillNotUseThisInPlugins: true }): { vhs?: { xhr: VhsXhr } } | undefined;
  src(source: { src: string; type: string; withCredentials?: boolean }): void;
  pause(): void;
}

/**
 * Makes `player` a session's player and gives it the session's source. VHS's
 * request hooks are synchronous, so a request takes the signature current
 * when it leaves (renewals come a third of a lifetime early); a 403 renews
 * once. Call after `playback.start()`. Returns a function that detaches.
 */
export function attachVideojs(player: VideojsLike, playback: Playback): () => void {
  const answer = playback.answer;
  if (answer === undefined) throw new Error('hlsgate: start the playback before attaching a player');
  const cookies = playback.mode === 'cookies';
  const onRequest: OnRequest = (request) => {
    if (cookies) request.withCredentials = true;
    else request.uri = playback.sign(request.uri);
    return request;
  };
  const onResponse: OnResponse = (_request, _error, response) => {
    if (response?.statusCode === 403) playback.forbidden();
  };
  let xhr: VhsXhr | undefined;
  const hook = () => {
    xhr = player.tech({ IWillNotUseThisInPlugins: true })?.vhs?.xhr;
    xhr?.onRequest(onRequest);
    xhr?.onResponse(onResponse);
  };
  player.on('xhr-hooks-ready', hook);
  player.src({ src: answer.manifest_url, type: 'application/x-mpegURL', withCredentials: cookies });
  const off = playback.on('ended', () => player.pause());
  return () => {
    off();
    player.off('xhr-hooks-ready', hook);
    xhr?.offRequest(onRequest);
    xhr?.offResponse(onResponse);
  };
}
