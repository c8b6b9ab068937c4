// What hls.js makes of a master playlist: reads the playlist from standard
// input, loads it through hls.js's own playlist loader and parser (in Node,
// no browser), and prints the variants, audio and subtitle tracks it found,
// as JSON. Used by crates/dev/tests/hostile_names.rs.
//
//   node e2e/parse-master.mjs HLS_MJS MASTER_URL < master.m3u8
import { readFileSync } from 'node:fs';

const [hlsPath, masterUrl] = process.argv.slice(2);
const master = readFileSync(0, 'utf8');
globalThis.self = globalThis;
globalThis.location = { href: masterUrl };
const { default: Hls } = await import(hlsPath);

// Every media playlist hls.js asks for next is a one-segment VOD playlist.
const media = '#EXTM3U\n#EXT-X-TARGETDURATION:2\n#EXTINF:2,\ns.ts\n#EXT-X-ENDLIST\n';

class Loader {
  constructor() {
    const t = { start: 0, first: 0, end: 0 };
    this.stats = {
      aborted: false,
      loaded: 0,
      retry: 0,
      total: 0,
      chunkCount: 0,
      bwEstimate: 0,
      loading: { ...t },
      parsing: { ...t },
      buffering: { ...t },
    };
  }
  load(context, _config, callbacks) {
    const data = context.url === masterUrl ? master : media;
    const now = performance.now();
    this.stats.loading = { start: now, first: now, end: now };
    this.stats.loaded = this.stats.total = data.length;
    callbacks.onSuccess({ url: context.url, data }, this.stats, context, null);
  }
  abort() {}
  destroy() {}
}

const hls = new Hls({ loader: Loader, pLoader: Loader, debug: false });
hls.on(Hls.Events.MANIFEST_LOADED, (_, d) => {
  const track = (t) => ({ name: t.name, lang: t.lang ?? null, url: t.url });
  console.log(
    JSON.stringify({
      levels: d.levels.map((l) => l.url),
      audio: d.audioTracks.map(track),
      subtitles: d.subtitles.map(track),
    }),
  );
  process.exit(0);
});
hls.on(Hls.Events.ERROR, (_, d) => {
  console.log(JSON.stringify({ error: d.details, reason: String(d.reason ?? d.error ?? '') }));
  process.exit(1);
});
hls.loadSource(masterUrl);
