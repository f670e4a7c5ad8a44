/**
 * Bundles the browser test pages: every `test/browser/pages/*.ts` except `*.d.ts`/`api.ts` becomes
 * `build/browser-pages/<name>.js` (ES module, all imports from `src/` inlined, source maps linked). Workers are
 * entries too, so a page starts one with `new Worker(new URL('./x.worker.js', import.meta.url), { type: 'module' })`.
 * esbuild rather than Vite: one call, no dev server, and it leaves `new URL(…, import.meta.url)` alone.
 */
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { build } from 'esbuild';
import { PAGES_DIR, ROOT } from './server.ts';

/** Directory of the page sources. */
export const PAGES_SRC = join(ROOT, 'test/browser/pages');

/**
 * Builds all pages of `srcDir` into `outDir` (by default the test pages into {@link PAGES_DIR}; the browser benchmark
 * builds its own); returns the entry names.
 */
export async function buildPages(srcDir = PAGES_SRC, outDir = PAGES_DIR): Promise<string[]> {
  const entries = readdirSync(srcDir)
    .filter((file) => file.endsWith('.ts') && !file.endsWith('.d.ts') && file !== 'api.ts')
    .map((file) => join(srcDir, file));
  await build({
    entryPoints: entries,
    outdir: outDir,
    bundle: true,
    format: 'esm',
    platform: 'browser',
    target: 'es2022',
    sourcemap: 'linked',
    logLevel: 'warning',
  });
  return entries;
}
