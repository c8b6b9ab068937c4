// @hlsgate/player's adapters in Chromium against `hlsgate dev`, one browser:
//
//   node e2e/players.mjs ORIGIN TOKEN --lifetime 10 --hlsgate BIN
//        --sessions-table T --endpoint URL --subject S --limit-origin ORIGIN2
//        --package DIR
//
// ORIGIN runs with --signature-seconds LIFETIME and a sessions table, no
// stream limit; ORIGIN2 with --max-streams 1. In order:
// 1. Shaka Player and video.js, each in URL and cookie mode, four pages at
//    once: four lifetimes of playing with a short buffer (and a seek back at
//    each end), a pause of two lifetimes, a seek back; every 403 on the way
//    is recorded, and what the playback emitted;
// 2. `hlsgate sessions end` stops all four, each with `ended` and its
//    reason;
// 3. native <video> in cookie mode, when Chromium plays HLS itself, and what
//    attachNative says in URL mode;
// 4. the package README's hls.js page, pasted as it is but for its three
//    constants, plays (its CDN URLs served from the local copies);
// 5. on ORIGIN2 a second page shows the too_many_streams explanation.
// The pages are served by routing (same origin as the stack); the players
// from $HLSGATE_E2E_MODULES, the package from --package (clients/web).
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { modules, playThroughLifetimes, sessionArgs, timeout, watchVideoRequests, withPage } from './browser.mjs';

const { origin, token, opt, lifetime, cli } = sessionArgs(process.argv.slice(2));
const pkg = opt('--package');

const VENDOR = {
  'shaka.js': path.join(modules, 'node_modules/shaka-player/dist/shaka-player.compiled.js'),
  'video.js': path.join(modules, 'node_modules/video.js/dist/video.min.js'),
  'hls.js': path.join(modules, 'node_modules/hls.js/dist/hls.min.js'),
};

// The test page: one player, one playback; what happened goes to window.log.
const PAGE = (player) => `<!doctype html>
<video id="video" muted playsinline style="width: 320px"></video>
<p id="status"></p>
<script src="/e2e/vendor/${player === 'videojs' ? 'video.js' : player === 'shaka' ? 'shaka.js' : 'hls.js'}"></script>
<script type="module">
  import { attachNative, attachShaka, attachVideojs, createPlayback, explain } from '/hlsgate-player.js';
  const q = new URLSearchParams(location.search);
  const mode = q.get('mode');
  const video = document.querySelector('video');
  window.log = { events: [], explained: null };
  const playback = createPlayback({ issuer: '', videoId: 'sample', mode, device: '${player}', getToken: () => ${JSON.stringify(token)} });
  window.playback = playback;
  for (const e of ['started', 'renewed', 'ended', 'refused']) {
    playback.on(e, (x) => window.log.events.push([e, x.reason ?? x.code ?? '', Date.now()]));
  }
  try {
    const answer = await playback.start();
    if ('${player}' === 'shaka') {
      shaka.polyfill.installAll();
      const player = new shaka.Player();
      await player.attach(video);
      player.configure({ streaming: { bufferingGoal: 2, rebufferingGoal: 1, bufferBehind: 0 } });
      attachShaka(player, playback);
      await player.load(answer.manifest_url);
    } else if ('${player}' === 'videojs') {
      for (const k of ['GOAL_BUFFER_LENGTH', 'MAX_GOAL_BUFFER_LENGTH']) videojs.Vhs[k] = 2;
      videojs.Vhs.BACK_BUFFER_LENGTH = 0;
      const player = videojs(video, { html5: { vhs: { overrideNative: true } } });
      attachVideojs(player, playback);
    } else {
      try {
        attachNative(video, playback);
      } catch (e) {
        window.log.native = e.message;
      }
    }
    video.play().catch(() => {});
  } catch (e) {
    window.log.explained = explain(e);
  }
</script>`;

async function route(page) {
  await page.route(`${origin}/e2e/**`, (r) => serve(r));
  await page.route(`${opt('--limit-origin')}/e2e/**`, (r) => serve(r));
}

async function serve(r) {
  const u = new URL(r.request().url());
  const name = u.pathname.replace(/^\/e2e\//, '');
  if (name.startsWith('vendor/')) {
    return r.fulfill({ body: readFileSync(VENDOR[name.slice(7)]), contentType: 'text/javascript' });
  }
  return r.fulfill({ body: PAGE(u.searchParams.get('player')), contentType: 'text/html' });
}

const playing = (page) =>
  page.waitForFunction(() => document.querySelector('video').currentTime > 0.5, undefined, {
    timeout,
    polling: 100,
  });

// Four lifetimes, a pause of two, a seek back; the 403s on the way.
async function playThrough(page, player, mode) {
  const run = { player, mode, errors: [] };
  out.runs.push(run);
  const unwatch = watchVideoRequests(page, run);
  page.on('console', (m) => m.type() === 'error' && run.errors.push(m.text()));
  page.on('pageerror', (e) => run.errors.push(String(e.message)));
  await route(page);
  await page.goto(`${origin}/e2e/page.html?player=${player}&mode=${mode}`);
  await playing(page);
  run.played = await playThroughLifetimes(page, lifetime);
  run.events = await page.evaluate(() => window.log.events.map((e) => e[0]));
  unwatch();
  return run;
}

const out = { lifetime, runs: [] };
await withPage(
  out,
  async (first, _, browser) => {
    const pages = [first, ...(await Promise.all([1, 2, 3].map(() => browser.newPage())))];
    const matrix = [
      ['shaka', 'url'],
      ['shaka', 'cookies'],
      ['videojs', 'url'],
      ['videojs', 'cookies'],
    ];
    await Promise.all(matrix.map(([p, m], i) => playThrough(pages[i], p, m)));

    // Support ends the viewer's sessions: every player stops.
    const t0 = Date.now();
    out.said = cli('sessions', 'end', '--table', opt('--sessions-table'));
    out.stopped = await Promise.all(
      pages.map(async (page) => {
        await page.waitForFunction(() => window.log.events.some((e) => e[0] === 'ended'), undefined, {
          timeout: 4 * lifetime * 1000,
          polling: 100,
        });
        return page.evaluate((start) => {
          const ended = window.log.events.find((e) => e[0] === 'ended');
          return {
            reason: ended[1],
            seconds: (ended[2] - start) / 1000,
            paused: document.querySelector('video').paused,
          };
        }, t0);
      }),
    );
    await Promise.all(pages.slice(1).map((p) => p.close()));

    // The browser's own player: cookies only.
    const page = first;
    await page.goto(`${origin}/e2e/page.html?player=native&mode=url`);
    await page.waitForFunction(() => window.log.native || window.log.events.length > 0, undefined, { timeout });
    out.native_url = await page.evaluate(() => window.log.native ?? null);
    out.native_hls = await page.evaluate(() =>
      document.createElement('video').canPlayType('application/vnd.apple.mpegurl'),
    );
    if (out.native_hls) {
      await page.goto(`${origin}/e2e/page.html?player=native&mode=cookies`);
      await playing(page);
      out.native_cookies = 'played';
    }

    // The README's page, as pasted: only its constants changed.
    const readme = readFileSync(path.join(pkg, 'README.md'), 'utf8');
    const html = readme
      .match(/```html\n([\s\S]*?)```/)[1]
      .replace('"https://video.example.com"', JSON.stringify(origin))
      .replace('"intro"', '"sample"')
      .replace('sessionStorage.getItem("id-token")', JSON.stringify(token));
    await page.route(`${origin}/readme.html`, (r) => r.fulfill({ body: html, contentType: 'text/html' }));
    await page.route('https://cdn.jsdelivr.net/npm/**', (r) => {
      const u = new URL(r.request().url());
      const m = u.pathname.match(/^\/npm\/@hlsgate\/player\/dist\/(.+)$/);
      const file = m ? path.join(pkg, 'dist', m[1]) : VENDOR['hls.js'];
      return r.fulfill({ body: readFileSync(file), contentType: 'text/javascript' });
    });
    await page.goto(`${origin}/readme.html`);
    // The viewer presses play (the page has controls and no autoplay).
    await page.waitForFunction(() => document.querySelector('video').readyState >= 2, undefined, { timeout });
    await page.evaluate(() => document.querySelector('video').play());
    await playing(page);
    out.readme = 'played';

    // One stream: the second page is refused, in words.
    const limit = opt('--limit-origin');
    await page.goto(`${limit}/e2e/page.html?player=shaka&mode=url`);
    await playing(page);
    const second = await browser.newPage();
    await route(second);
    await second.goto(`${limit}/e2e/page.html?player=shaka&mode=url`);
    await second.waitForFunction(() => window.log.explained, undefined, { timeout, polling: 100 });
    out.limited = await second.evaluate(() => window.log.explained);
  },
  ['--autoplay-policy=no-user-gesture-required'],
);
