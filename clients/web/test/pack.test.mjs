// What `npm pack` would ship: the build, its types, the README and the
// licence; the manifest's entry points exist in it.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';

const root = path.join(import.meta.dirname, '..');

test('npm pack ships dist, the README and the licence, and what exports names', () => {
  const [report] = JSON.parse(
    execFileSync('npm', ['pack', '--dry-run', '--json', '--ignore-scripts'], { cwd: root, encoding: 'utf8' }),
  );
  const files = report.files.map((f) => f.path).sort();
  const outside = files.filter(
    (f) => !/^dist\/[a-z]+\.(js|d\.ts)$/.test(f) && !['LICENSE', 'README.md', 'package.json'].includes(f),
  );
  assert.deepEqual(outside, [], 'only the build, the README, the licence and the manifest');
  for (const f of ['dist/index.js', 'dist/index.d.ts', 'dist/playback.js', 'dist/hls.js', 'LICENSE', 'README.md']) {
    assert.ok(files.includes(f), `${f} is shipped`);
  }
  const manifest = JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8'));
  const entry = manifest.exports['.'];
  for (const p of [entry.import, entry.types, manifest.types]) assert.ok(files.includes(p.replace(/^\.\//, '')), p);
  assert.equal(manifest.sideEffects, false);
  assert.deepEqual(Object.keys(manifest.dependencies ?? {}), [], 'no runtime dependencies');
  for (const peer of Object.keys(manifest.peerDependencies))
    assert.equal(manifest.peerDependenciesMeta[peer].optional, true, peer);
});
