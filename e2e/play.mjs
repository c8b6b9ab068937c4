// Plays a video on the `hlsgate dev` player page in Debian's Chromium, driven
// by playwright-core, and prints one JSON line saying what happened.
//
//   node e2e/play.mjs URL [--min-time 3] [--switch] [--tracks] [--screenshot FILE]
//
// URL is the player page (with #token=… and ?mode=url|cookies). With
// --switch, after --min-time seconds of playback it forces hls.js onto
// another quality level and waits until that level plays 1.5 s more. With
// --tracks, it records the audio and subtitle tracks hls.js found and the
// page's menus, turns the first subtitles on and the second audio track
// on from the menus, and waits for a subtitle segment, a segment of that
// audio, the I-frame count and the first thumbnail.
// Environment: see browser.mjs.
import { timeout, withPage } from './browser.mjs';

const args = process.argv.slice(2);
const url = args[0];
const opt = (name, dflt) => {
  const i = args.indexOf(name);
  return i < 0 ? dflt : args[i + 1];
};
const minTime = Number(opt('--min-time', '3'));
const doSwitch = args.includes('--switch');
const doTracks = args.includes('--tracks');
const screenshot = opt('--screenshot', null);

const out = { url, minTime, requests: [], refused: [] };
await withPage(
  out,
  async (page) => {
    page.on('response', (r) => {
      const u = new URL(r.url());
      if (!u.pathname.startsWith('/videos/')) return;
      const entry = `${r.status()} ${u.pathname}${u.search.includes('Signature=') ? ' (signed URL)' : ''}`;
      out.requests.push(entry);
      if (r.status() >= 400) out.refused.push(`${entry} ${r.headers()['x-hlsgate-dev-reason'] || ''}`);
    });
    await page.goto(url);
    await page.waitForFunction((t) => window.hls && document.getElementById('video').currentTime > t, minTime, {
      timeout,
      polling: 100,
    });
    const before = await page.evaluate(() => ({
      time: document.getElementById('video').currentTime,
      level: window.hls.currentLevel,
      levels: window.hls.levels.map((l) => l.height),
      issued: window.hlsgate.issued,
      grant: document.getElementById('grant-stat').hidden ? null : document.getElementById('grant').textContent,
      encryption: document.getElementById('enc').textContent,
    }));
    Object.assign(out, { before });
    if (doSwitch) {
      const target = before.levels.length > 1 ? (before.level + 1) % before.levels.length : before.level;
      out.target = target;
      await page.evaluate((t) => {
        window.switched = null;
        window.hls.on(Hls.Events.LEVEL_SWITCHED, (_, d) => {
          if (d.level === t) window.switched = document.getElementById('video').currentTime;
        });
        window.hls.currentLevel = t;
      }, target);
      await page.waitForFunction(
        () => window.switched !== null && document.getElementById('video').currentTime > window.switched + 1.5,
        undefined,
        { timeout, polling: 100 },
      );
      out.after = await page.evaluate(() => ({
        time: document.getElementById('video').currentTime,
        level: window.hls.currentLevel,
        switchedAt: window.switched,
        grant: document.getElementById('grant-stat').hidden ? null : document.getElementById('grant').textContent,
      }));
    }
    if (doTracks) {
      out.tracks = await page.evaluate(() => ({
        audio: window.hls.audioTracks.map((t) => ({ name: t.name, lang: t.lang, default: t.default })),
        subtitles: window.hls.subtitleTracks.map((t) => ({ name: t.name, lang: t.lang })),
        menus: {
          audio: [...document.querySelectorAll('#audio option')].map((o) => o.textContent),
          subs: [...document.querySelectorAll('#subs option')].map((o) => o.textContent),
        },
        poster: document.getElementById('video').poster,
      }));
      await page.selectOption('#subs', '0');
      await page.selectOption('#audio', '1');
      const end = Date.now() + timeout;
      const seen = (re) => out.requests.some((r) => r.startsWith('200 ') && re.test(r));
      while (!(seen(/\.vtt/) && seen(/_audio_2_[^/]*\.ts/) && seen(/thumbnails_\d+\.jpg/))) {
        if (Date.now() > end)
          throw new Error(`no subtitle segment, second-audio segment or thumbnail: ${out.requests.join(', ')}`);
        await page.waitForTimeout(100);
      }
      await page.waitForFunction(
        () => window.hlsgate.iframes !== null && document.getElementById('thumb').naturalWidth > 0,
        undefined,
        { timeout, polling: 100 },
      );
      out.trick = await page.evaluate(() => ({
        iframes: window.hlsgate.iframes,
        thumbnails: window.hlsgate.thumbs.length,
        label: document.getElementById('trick').textContent,
        audioTrack: window.hls.audioTrack,
        subtitleTrack: window.hls.subtitleTrack,
      }));
    }
    if (screenshot) {
      await page.click('#tamper');
      await page.waitForSelector('#tamper-out:not([hidden])', { timeout });
      await page.waitForTimeout(600);
      await page.screenshot({ path: screenshot, fullPage: true });
    }
  },
  ['--autoplay-policy=no-user-gesture-required'],
);
