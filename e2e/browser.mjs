// What the e2e scripts share: Debian's Chromium through playwright-core, one
// page, and one JSON line on stdout whatever happens.
//
// HLSGATE_E2E_MODULES is the folder whose node_modules hold playwright-core
// (`make e2e-tools` fills $HLSGATE_TOOLS/e2e); CHROMIUM overrides
// /usr/bin/chromium; HLSGATE_E2E_TIMEOUT_MS (default 60000) bounds each wait.
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
