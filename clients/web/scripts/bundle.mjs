// Builds with esbuild from the TypeScript sources.
//
//   node scripts/bundle.mjs --size    the core with each adapter, minified and
//                                     gzipped: fails past the budget (4 kB)
//   node scripts/bundle.mjs --dev     the whole package as one ES module, the
//                                     file `hlsgate dev` serves its page from
//   node scripts/bundle.mjs --check   fails when that file differs from a
//                                     fresh build (it is committed, so the Rust
//                                     build needs no Node)
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import { build } from 'esbuild';

const here = path.dirname(new URL(import.meta.url).pathname);
const root = path.join(here, '..');
const DEV = path.join(root, '..', '..', 'crates', 'dev', 'assets', 'hlsgate-player.js');
export const BUDGET = 4096;

async function bundle(contents, minify) {
  const r = await build({
    stdin: { contents, resolveDir: path.join(root, 'src'), loader: 'ts', sourcefile: 'entry.ts' },
    bundle: true,
    format: 'esm',
    target: 'es2020',
    minify,
    write: false,
    legalComments: 'none',
  });
  return r.outputFiles[0].contents;
}

const core = "export { createPlayback } from './playback.ts'; export { explain } from './explain.ts';";
const ADAPTERS = { hls: 'attachHls', shaka: 'attachShaka', videojs: 'attachVideojs', native: 'attachNative' };

const args = process.argv.slice(2);
if (args.includes('--size')) {
  let over = false;
  for (const [file, name] of Object.entries(ADAPTERS)) {
    const code = await bundle(`${core} export { ${name} } from './${file}.ts';`, true);
    const gz = gzipSync(code, { level: 9 }).length;
    over ||= gz > BUDGET;
    console.log(`core + ${file}: ${code.length} B minified, ${gz} B gzipped (budget ${BUDGET})`);
  }
  if (over) {
    console.error('over the size budget');
    process.exit(1);
  }
}
if (args.includes('--dev') || args.includes('--check')) {
  const banner =
    '// Generated from clients/web by `make client-bundle` (node scripts/bundle.mjs --dev); do not edit.\n';
  const code = banner + new TextDecoder().decode(await bundle("export * from './index.ts';", false));
  if (args.includes('--check')) {
    let committed = '';
    try {
      committed = readFileSync(DEV, 'utf8');
    } catch {}
    if (committed !== code) {
      console.error(`${path.relative(process.cwd(), DEV)} is not the build of clients/web/src: run make client-bundle`);
      process.exit(1);
    }
    console.log('crates/dev/assets/hlsgate-player.js is the build of clients/web/src');
  } else {
    writeFileSync(DEV, code);
    console.log(`wrote ${DEV}`);
  }
}
