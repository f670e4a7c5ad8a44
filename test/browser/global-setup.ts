/**
 * Playwright global setup: refuses to test a stale generated worklet (the player ships
 * `src/audio/worklet-source.generated.ts`), bundles the test pages, and writes the worklet file exactly as
 * `scripts/build-worklet.ts` writes it to `dist/esm/worklets/` next to them (`/pages/worklets/playback.worklet.js`,
 * for the `workletUrl` test; a copy under build/ so that a concurrent package build cleaning `dist/` cannot race it),
 * builds the demo with Vite into build/demo (served at `/demo/` for the demo smoke test), and compresses the tiny
 * package into build/tiny-package-gz (served at `/tiny-package-gz/`).
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { build } from 'vite';
import { bundleWorklet, GENERATED_MODULE, generatedModuleFor } from '../../scripts/build-worklet.ts';
import { compressTinyPackage } from '../global-setup.ts';
import { buildPages } from './build-pages.ts';
import { PAGES_DIR, ROOT } from './server.ts';

export default async function globalSetup(): Promise<void> {
  const code = await bundleWorklet();
  if (readFileSync(GENERATED_MODULE, 'utf8') !== (await generatedModuleFor(code))) {
    throw new Error('src/audio/worklet-source.generated.ts is stale: run `npx tsx scripts/build-worklet.ts` first');
  }
  await buildPages();
  compressTinyPackage();
  mkdirSync(join(PAGES_DIR, 'worklets'), { recursive: true });
  writeFileSync(join(PAGES_DIR, 'worklets/playback.worklet.js'), code);
  await build({
    configFile: join(ROOT, 'vite.config.ts'),
    logLevel: 'warn',
    build: { outDir: join(ROOT, 'build/demo'), emptyOutDir: true },
  });
}
