// Checks the `hlsgate dev` player page in Debian's Chromium (playwright-core)
// against hostile strings and a missing player library; prints one JSON line.
//
//   node e2e/page.mjs URL [--block-player]
//
// URL is the player page (with #token=…). It drops a file named like an HTML
// tag on the page (the upload is refused), then feeds the page a video list
// and a job whose strings are markup, and records whether any of it ran or
// became an element, what the page shows, and how a long video id is
// labelled. With --block-player, requests for hls.js are aborted (as on a
// machine that cannot reach the CDN) and it records what the page says.
// Environment: see browser.mjs.
import { timeout, withPage } from './browser.mjs';

const args = process.argv.slice(2);
const url = args[0];
const blockPlayer = args.includes('--block-player');
const HOSTILE = '<img src=x onerror="window.pwned=(window.pwned||0)+1">';
const LONG_SLUG = 'a-long-title-of-a-summer-trip-to-the-mountains-and-back-again';

const out = { url, blockPlayer, dialogs: [] };
await withPage(out, async (page) => {
  page.on('dialog', (d) => {
    out.dialogs.push(d.message());
    d.dismiss();
  });
  if (blockPlayer) await page.route(/\/hls(\.min)?\.js(\?.*)?$/, (r) => r.abort());
  await page.goto(url);
  await page.waitForFunction(() => document.querySelectorAll('#videos button').length > 0, undefined, {
    timeout,
    polling: 100,
  });
  if (blockPlayer) {
    await page.waitForSelector('#player-error:not([hidden])', { timeout });
    out.playerError = await page.textContent('#player-error');
  }

  // 1. A real upload with a hostile name: refused, and the refusal is text.
  //    The page starts the first video on load and says so on the status
  //    line; the upload goes after that, so its refusal is the last word.
  await page.waitForFunction(() => /Issued by/.test(document.getElementById('status').textContent), undefined, {
    timeout,
    polling: 50,
  });
  await page.evaluate((name) => {
    const dt = new DataTransfer();
    dt.items.add(new File(['not a video'], name, { type: 'video/mp4' }));
    document
      .getElementById('drop')
      .dispatchEvent(new DragEvent('drop', { dataTransfer: dt, bubbles: true, cancelable: true }));
  }, `${HOSTILE}.mp4`);
  const refused = await page.waitForFunction(
    () => {
      const text = document.getElementById('status').textContent;
      return /Upload refused/.test(text) && text;
    },
    undefined,
    { timeout, polling: 50 },
  );
  out.status = await refused.jsonValue();

  // 2. Server strings that are markup, as if the server sent them.
  out.rendered = await page.evaluate(
    async ({ hostile, slug }) => {
      const real = window.fetch;
      const longId = `${slug}_${'Ab0-_'.repeat(8)}Ab0`;
      window.fetch = async (u, init) =>
        String(u).startsWith('/api/videos')
          ? new Response(
              JSON.stringify({
                videos: [hostile, longId],
                jobs: [
                  {
                    source_key: `uploads/${hostile}.mp4`,
                    status: `<i>ERROR</i>${hostile}`,
                    error: hostile,
                    percent: 0,
                  },
                ],
              }),
              { headers: { 'content-type': 'application/json' } },
            )
          : real(u, init);
      await window.hlsgate.refresh();
      window.fetch = real;
      const long = [...document.querySelectorAll('#videos button')].find((b) => b.title === longId);
      return {
        jobs: document.getElementById('jobs').textContent,
        videos: [...document.querySelectorAll('#videos button')].map((b) => b.textContent),
        long: long && {
          text: long.textContent,
          overflowX: getComputedStyle(long).overflowX,
          textOverflow: getComputedStyle(long).textOverflow,
        },
      };
    },
    { hostile: HOSTILE, slug: LONG_SLUG },
  );
  await page.waitForTimeout(500); // an <img onerror> would have fired by now
  Object.assign(
    out,
    await page.evaluate(() => ({
      pwned: window.pwned || 0,
      elements: document.querySelectorAll('#videos img, #jobs img, #jobs i, #status img').length,
    })),
  );
});
