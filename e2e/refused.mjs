// What the `hlsgate dev` player page says when the issuer refuses the video
// it starts on load (a playback rule, a stream limit); prints one JSON line.
//
//   node e2e/refused.mjs URL
//
// URL is the player page (with #token=…). Environment: see browser.mjs.
import { timeout, withPage } from './browser.mjs';

const url = process.argv[2];
const out = { url };
await withPage(out, async (page) => {
  await page.goto(url);
  const said = await page.waitForFunction(
    () => {
      const text = document.getElementById('status').textContent;
      return /The issuer answered/.test(text) && text;
    },
    undefined,
    { timeout, polling: 50 },
  );
  out.status = await said.jsonValue();
});
