// What the e2e scripts share: Debian's Chromium through playwright-core, one
// page, and one JSON line on stdout whatever happens.
//
// HLSGATE_E2E_MODULES is the folder whose node_modules hold playwright-core
// (`make e2e-tools` fills $HLSGATE_TOOLS/e2e); CHROMIUM overrides
// /usr/bin/chromium; HLSGATE_E2E_TIMEOUT_MS (default 60000) bounds each wait.
import { execFileSync } from 'node:child_process';
import { createRequire } from 'node:module';
import path from 'node:path';

export const modules = process.env.HLSGATE_E2E_MODULES || path.join(import.meta.dirname, '..', '.tools', 'e2e');
const { chromium } = createRequire(path.join(path.resolve(modules), 'package.json'))('playwright-core');

export const timeout = Number(process.env.HLSGATE_E2E_TIMEOUT_MS || 60000);

// Runs `body(page, out, browser)` on a fresh page; `out` gets `ok` (and `error`),
// the page's console, and is printed as the last line.
export async function withPage(out, body, extraArgs = []) {
  out.console = [];
  const browser = await chromium.launch({
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--no-first-run',
      ...extraArgs,
    ],
  });
  try {
    const page = await browser.newPage({ viewport: { width: 1180, height: 720 } });
    page.on('console', (m) => out.console.push(`${m.type()}: ${m.text()}`));
    await body(page, out, browser);
    out.ok = true;
  } catch (e) {
    out.ok = false;
    out.error = String(e?.message || e).split('\n')[0];
  } finally {
    await browser.close();
  }
  console.log(JSON.stringify(out));
}

// What a session's player must survive, on `page` already playing: four
// `lifetime`s of playing (seeking back to the start at each end, so a short
// buffer keeps fetching), a pause of two lifetimes, a seek back, three more
// seconds. Returns the seconds played.
export async function playThroughLifetimes(page, lifetime) {
  await page.evaluate(() => {
    const v = document.querySelector('video');
    window.played = 0;
    let last = v.currentTime;
    const back = () => {
      v.currentTime = 0.2;
      v.play().catch(() => {});
    };
    v.addEventListener('timeupdate', () => {
      const d = v.currentTime - last;
      if (d > 0 && d < 1) window.played += d;
      last = v.currentTime;
      if (v.duration && v.currentTime > v.duration - 1.2) back();
    });
    v.addEventListener('ended', back);
  });
  await page.waitForFunction((t) => window.played >= t, 4 * lifetime, {
    timeout: 10 * lifetime * 1000 + timeout,
    polling: 250,
  });
  await page.evaluate(() => document.querySelector('video').pause());
  await page.waitForTimeout(2 * lifetime * 1000);
  await page.evaluate(() => {
    const v = document.querySelector('video');
    v.currentTime = Math.max(0, v.currentTime - 4);
    window.resumedAt = window.played;
    v.play().catch(() => {});
  });
  await page.waitForFunction(() => window.played >= window.resumedAt + 3, undefined, { timeout, polling: 250 });
  return page.evaluate(() => window.played);
}

// Records on `run` the requests for video files `page` makes (`requests`)
// and those refused (`refused`, with the dev edge's reason), until the
// function it returns is called.
export function watchVideoRequests(page, run) {
  run.requests = 0;
  run.refused = [];
  const seen = (r) => {
    const u = new URL(r.url());
    if (!u.pathname.startsWith('/videos/')) return;
    run.requests += 1;
    if (run.started) run.last_request_after = (Date.now() - run.started) / 1000;
    if (r.status() >= 400) run.refused.push(`${r.status()} ${u.pathname} ${r.headers()['x-hlsgate-dev-reason'] || ''}`);
  };
  page.on('response', seen);
  return () => page.off('response', seen);
}

// The arguments of the session scripts: ORIGIN TOKEN, then flags; `opt`
// reads a flag's value; `cli(...)` runs `--hlsgate` on the viewer's table
// (`--endpoint`, `--subject`) and returns what it printed.
export function sessionArgs(args) {
  const [origin, token] = args;
  const opt = (name) => {
    const i = args.indexOf(name);
    return i < 0 ? undefined : args[i + 1];
  };
  const cli = (...a) =>
    execFileSync(opt('--hlsgate'), [...a, '--endpoint', opt('--endpoint'), '--subject', opt('--subject')], {
      encoding: 'utf8',
    });
  return { origin, token, opt, lifetime: Number(opt('--lifetime') || '10'), cli };
}
