// Playback sessions on the `hlsgate dev` player page, in one Chromium:
//
//   node e2e/sessions.mjs ORIGIN TOKEN --lifetime 10 --hlsgate BIN
//        --sessions-table T --grants-table G --endpoint URL --subject S
//
// The stack runs with --signature-seconds LIFETIME, --max-streams 2 and
// the grants and sessions tables on dynalite. In order:
// 1. each mode (url, cookies, on two pages at once) plays four lifetimes,
//    with the buffer kept
//    short (the page's ?buffer=2) so requests go on throughout (and a seek
//    back at each end),
//    pauses two lifetimes, seeks back and plays on: every 403 on the way is
//    recorded; in URL mode the first manifest URL is fetched again, a
//    lifetime or more after it was issued;
// 2. leaving the page ends its session (the beacon): none is left;
// 3. two pages play; a third start is refused (409, the two listed); the
//    second page ends the others and the first stops;
// 4. `hlsgate sessions end` stops the second page;
// 5. a new playback, then `hlsgate revoke`: it stops;
// 6. with --evict-origin (a second stack: one stream, evict-oldest), a page
//    plays, another start takes its slot, and the page stops.
// Each stop records how long it took and what the page said.
// Environment: see browser.mjs.
import { playThroughLifetimes, sessionArgs, timeout, watchVideoRequests, withPage } from './browser.mjs';

const { origin, token, opt, lifetime, cli } = sessionArgs(process.argv.slice(2));
const auth = { Authorization: `Bearer ${token}` };
// A new query each time: a load, never a same-document hash change.
let loads = 0;
const page_url = (mode) => `${origin}/?mode=${mode}&buffer=2&load=${++loads}#token=${token}`;
const playing = (page) =>
  page.waitForFunction(
    () => window.hls && window.hlsgate.issued && document.getElementById('video').currentTime > 0.5,
    undefined,
    { timeout, polling: 100 },
  );
const stopped = async (page) => {
  const t0 = Date.now();
  await page.waitForFunction(() => window.hlsgate.stopped, undefined, { timeout: 4 * lifetime * 1000, polling: 100 });
  return {
    seconds: (Date.now() - t0) / 1000,
    stopped: await page.evaluate(() => window.hlsgate.stopped),
    status: await page.textContent('#status'),
    paused: await page.evaluate(() => document.getElementById('video').paused),
  };
};

// Plays `mode` on `page`: four lifetimes, a pause of two, a seek back.
async function playThrough(page, mode) {
  const run = { mode, last_request_after: 0 };
  const unwatch = watchVideoRequests(page, run);
  run.started = Date.now();
  await page.goto(page_url(mode));
  await playing(page);
  const first = await page.evaluate(() => ({ url: window.hlsgate.issued.manifest_url, at: Date.now() }));
  // The page keeps a short buffer (?buffer=2) and no back buffer: segments
  // are fetched as they play, and again after every seek.
  await playThroughLifetimes(page, lifetime);
  Object.assign(
    run,
    await page.evaluate(() => ({
      played: window.played,
      renewals: window.hlsgate.renewals,
      stopped: window.hlsgate.stopped,
      status: document.getElementById('status').textContent,
      statusClass: document.getElementById('status').className,
    })),
  );
  if (mode === 'url') {
    const r = await fetch(first.url);
    run.copied = { status: r.status, after_seconds: (Date.now() - first.at) / 1000 };
  }
  unwatch();
  delete run.started;
  return run;
}

const out = { lifetime };
await withPage(
  out,
  async (page, _, browser) => {
    // Both modes at once, on two pages: two streams, the limit.
    const other = await browser.newPage();
    out.runs = await Promise.all([playThrough(page, 'url'), playThrough(other, 'cookies')]);

    // Leaving a page sends the end token.
    await other.goto('about:blank');
    await other.close();
    await page.goto('about:blank');
    await page.waitForTimeout(1000);
    out.after_leaving = (
      await (await fetch(`${origin}/playback/sample/sessions`, { headers: auth })).json()
    ).sessions.length;

    // Two screens, then a third start.
    await page.goto(page_url('url'));
    await playing(page);
    const second = await browser.newPage();
    await second.goto(page_url('url'));
    await playing(second);
    const third = await fetch(`${origin}/playback/sample?device=third`, { headers: auth });
    out.third = { status: third.status, body: await third.json() };
    await second.click('#end-others');
    out.ended_by_other_screen = await stopped(page);

    // Support ends the viewer's sessions.
    const said = cli('sessions', 'end', '--table', opt('--sessions-table'));
    out.ended_by_cli = { said, ...(await stopped(second)) };

    // A new playback, then the grant is revoked.
    await second.goto(page_url('url'));
    await playing(second);
    cli('revoke', '--table', opt('--grants-table'), '--video', 'sample');
    out.revoked = await stopped(second);

    const evict = opt('--evict-origin');
    if (evict) {
      await second.close();
      await page.goto(`${evict}/?mode=url&buffer=2&load=${++loads}#token=${token}`);
      await playing(page);
      const newer = await fetch(`${evict}/playback/sample?device=newer`, { headers: auth });
      out.evicted = { start: newer.status, ...(await stopped(page)) };
    }
  },
  ['--autoplay-policy=no-user-gesture-required'],
);
