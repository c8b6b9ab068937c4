// Drops a video on the `hlsgate dev` player page in Debian's Chromium
// (playwright-core): the page uploads it through the upload API in parts,
// straight to the embedded S3 on presigned URLs, follows the processing
// status and plays the result. Prints one JSON line.
//
//   node e2e/upload.mjs URL FILE [--min-time 1]
//
// URL is the player page (with #token=…). Records every change of each
// part's progress bar and of the status the page shows, the part PUTs the
// browser sent (and their answers), and how far the new video played.
// Environment: see browser.mjs.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { timeout, withPage } from './browser.mjs';

const args = process.argv.slice(2);
const [url, file] = args;
const opt = (name, dflt) => {
  const i = args.indexOf(name);
  return i < 0 ? dflt : args[i + 1];
};
const minTime = Number(opt('--min-time', '1'));

const out = { url, file, parts: [], puts: [], states: [] };
await withPage(out, async (page) => {
  page.on('response', (r) => {
    if (r.request().method() === 'PUT') {
      const u = new URL(r.url());
      out.puts.push({
        status: r.status(),
        host: u.host,
        part: u.searchParams.get('partNumber'),
        signed: u.searchParams.has('X-Amz-Signature'),
      });
    }
  });
  await page.goto(url);
  await page.waitForFunction(() => document.querySelectorAll('#videos button').length > 0, undefined, {
    timeout,
    polling: 100,
  });
  // Every value each part's bar takes, and every status shown, in order.
  await page.evaluate(() => {
    window.seen = { parts: [], states: [] };
    new MutationObserver((records) => {
      for (const r of records) {
        const t = r.target;
        if (t.matches?.('#parts progress')) {
          window.seen.parts.push([[...t.parentNode.children].indexOf(t) + 1, Number(t.value)]);
        }
      }
      const s = document.getElementById('upload-state').textContent;
      if (window.seen.states.at(-1) !== s) window.seen.states.push(s);
    }).observe(document.getElementById('upload'), {
      subtree: true,
      attributes: true,
      childList: true,
      characterData: true,
    });
  });
  const bytes = readFileSync(file).toString('base64');
  await page.evaluate(
    ({ name, bytes }) => {
      const raw = Uint8Array.from(atob(bytes), (c) => c.charCodeAt(0));
      const dt = new DataTransfer();
      dt.items.add(new File([raw], name, { type: 'video/mp4' }));
      document
        .getElementById('drop')
        .dispatchEvent(new DragEvent('drop', { dataTransfer: dt, bubbles: true, cancelable: true }));
    },
    { name: path.basename(file), bytes },
  );
  await page.waitForFunction(
    () => /^(complete|error)/.test(document.getElementById('upload-state').textContent),
    undefined,
    { timeout: timeout * 3, polling: 100 },
  );
  out.status = await page.textContent('#status');
  out.state = await page.textContent('#upload-state');
  // The new video, not the one that played before the drop.
  out.video = await page.getAttribute('#upload', 'data-video');
  await page.waitForFunction(
    ({ id, t }) => window.hls?.url?.includes(`/videos/${id}/`) && document.getElementById('video').currentTime > t,
    { id: out.video, t: minTime },
    { timeout, polling: 100 },
  );
  Object.assign(
    out,
    await page.evaluate(() => ({
      parts: window.seen.parts,
      states: window.seen.states,
      bars: document.querySelectorAll('#parts progress').length,
      playing: window.hls.url,
      time: document.getElementById('video').currentTime,
    })),
  );
});
