/** Opens model packages from disk for Node tests (the browser path uses the verified HTTP loader instead). */
import { readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { parseManifest } from '../../src/loader/manifest.ts';
import { ModelPackage } from '../../src/runtime/model-package.ts';

/** Repository root. */
export const ROOT = resolve(import.meta.dirname, '../..');
/** The committed tiny fixture package. */
export const TINY_PACKAGE = join(ROOT, 'test/fixtures/tiny-package');
/** Golden arrays of the tiny package. */
export const GOLDEN = join(ROOT, 'test/fixtures/golden');
/** shared/data next to the repository. */
export const SHARED_DATA = resolve(ROOT, '../shared/data');

/** A {@link ModelPackage} whose files are read from `dir`. */
export async function openPackageDir(dir: string): Promise<ModelPackage> {
  const manifest = parseManifest(JSON.parse(await readFile(join(dir, 'manifest.json'), 'utf8')));
  return new ModelPackage(manifest, {
    read: async (file) => new Uint8Array(await readFile(join(dir, file.path))),
  });
}
/** The upstream test-vector checkpoint exported by test/global-setup.ts (fp32 only). */
export const UPSTREAM_PACKAGE = join(ROOT, 'build/upstream-package');
/** The upstream test vectors (arrays computed by the upstream CosyVoice code). */
export const UPSTREAM_VECTORS = join(SHARED_DATA, 'upstream-vectors');
