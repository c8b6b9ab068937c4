// Plays a video on the `hlsgate dev` player page in Debian's Chromium, driven
// by playwright-core, and prints one JSON line saying what happened.
//
//   node e2e/play.mjs URL [--min-time 3] [--switch] [--screenshot FILE]
//
// URL is the player page (with #token=… and ?mode=url|cookies). With
// --switch, after --min-time seconds of playback it forces hls.js onto
// another quality level and waits until that level plays 1.5 s more.
// HLSGATE_E2E_MODULES is the folder whose node_modules hold playwright-core
// (`make e2e-tools` fills $HLSGATE_TOOLS/e2e); CHROMIUM overrides
// /usr/bin/chromium; HLSGATE_E2E_TIMEOUT_MS (default 60000) bounds each wait.
import { createRequire } from "node:module";
import path from "node:path";

const modules = process.env.HLSGATE_E2E_MODULES || path.join(import.meta.dirname, "..", ".tools", "e2e");
const { chromium } = createRequire(path.join(path.resolve(modules), "package.json"))("playwright-core");

const args = process.argv.slice(2);
const url = args[0];
const opt = (name, dflt) => { const i = args.indexOf(name); return i < 0 ? dflt : args[i + 1]; };
const minTime = Number(opt("--min-time", "3"));
const doSwitch = args.includes("--switch");
const screenshot = opt("--screenshot", null);
const timeout = Number(process.env.HLSGATE_E2E_TIMEOUT_MS || 60000);

const out = { url, minTime, requests: [], refused: [], console: [] };
const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
  args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--no-first-run",
    "--autoplay-policy=no-user-gesture-required"],
});
try {
  const page = await browser.newPage({ viewport: { width: 1180, height: 720 } });
  page.on("console", (m) => out.console.push(`${m.type()}: ${m.text()}`));
  page.on("response", (r) => {
    const u = new URL(r.url());
    if (!u.pathname.startsWith("/videos/")) return;
    const entry = `${r.status()} ${u.pathname}${u.search.includes("Signature=") ? " (signed URL)" : ""}`;
    out.requests.push(entry);
    if (r.status() >= 400) out.refused.push(`${entry} ${r.headers()["x-hlsgate-dev-reason"] || ""}`);
  });
  await page.goto(url);
  await page.waitForFunction((t) => window.hls && document.getElementById("video").currentTime > t,
    minTime, { timeout, polling: 100 });
  const before = await page.evaluate(() => ({
    time: document.getElementById("video").currentTime,
    level: window.hls.currentLevel,
    levels: window.hls.levels.map((l) => l.height),
    issued: window.hlsgate.issued,
  }));
  Object.assign(out, { before });
  if (doSwitch) {
    const target = before.levels.length > 1 ? (before.level + 1) % before.levels.length : before.level;
    out.target = target;
    await page.evaluate((t) => {
      window.switched = null;
      window.hls.on(Hls.Events.LEVEL_SWITCHED, (_, d) => { if (d.level === t) window.switched = document.getElementById("video").currentTime; });
      window.hls.currentLevel = t;
    }, target);
    await page.waitForFunction(() => window.switched !== null
      && document.getElementById("video").currentTime > window.switched + 1.5,
    undefined, { timeout, polling: 100 });
    out.after = await page.evaluate(() => ({
      time: document.getElementById("video").currentTime,
      level: window.hls.currentLevel,
      switchedAt: window.switched,
    }));
  }
  if (screenshot) {
    await page.click("#tamper");
    await page.waitForSelector("#tamper-out:not([hidden])", { timeout });
    await page.waitForTimeout(600);
    await page.screenshot({ path: screenshot, fullPage: true });
  }
  out.ok = true;
} catch (e) {
  out.ok = false;
  out.error = String(e && e.message || e).split("\n")[0];
} finally {
  await browser.close();
}
console.log(JSON.stringify(out));
