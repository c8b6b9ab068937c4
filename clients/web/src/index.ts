export { type Explanation, explain } from './explain.js';
export { attachHls, type HlsLike } from './hls.js';
export { attachNative } from './native.js';
export { signInFolder, withFreshParams } from './params.js';
export {
  type Clock,
  createPlayback,
  type Ended,
  type Playback,
  type PlaybackEvents,
  type PlaybackOptions,
} from './playback.js';
export { attachShaka, type ShakaLike } from './shaka.js';
export {
  type Answer,
  type Mode,
  type OtherSession,
  PlaybackError,
  type RefusalBody,
  type SessionInfo,
} from './types.js';
export { attachVideojs, type VideojsLike } from './videojs.js';
