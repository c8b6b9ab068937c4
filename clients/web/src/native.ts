import type { Playback } from './playback.js';

/**
 * Plays the session in the browser's own HLS player (Safari, iOS, and
 * Chromium where it has one). It takes no request hooks, so only cookie mode
 * renews: the renewal replaces the cookies its requests carry. In URL mode
 * this throws: the player's requests would keep the first signature and stop
 * one lifetime in.
 */
export function attachNative(video: HTMLVideoElement, playback: Playback): () => void {
  if (playback.mode !== 'cookies') {
    throw new Error(
      'hlsgate: native playback cannot renew a URL-mode signature (it takes no request hooks); ' +
        "start the playback with mode 'cookies', or use hls.js, Shaka or video.js",
    );
  }
  const answer = playback.answer;
  if (answer === undefined) throw new Error('hlsgate: start the playback before attaching a player');
  // Cookies go with the requests; cross-origin only with credentials.
  video.crossOrigin = 'use-credentials';
  video.src = answer.manifest_url;
  return playback.on('ended', () => {
    video.pause();
  });
}
