/** Opens model packages from disk for Node tests (the browser path uses the verified HTTP loader instead). */
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { parseManifest } from '../../src/loader/manifest.ts';
import { ModelPackage } from '../../src/runtime/model-package.ts';

/** Repository root. */
export const ROOT = resolve(import.meta.dirname, '../..');
/** The committed tiny fixture package. */
export const TINY_PACKAGE = join(ROOT, 'test/fixtures/tiny-package');
/** The tiny package compressed by `python -m tools.export.compress` (written by test/global-setup.ts). */
export const TINY_PACKAGE_GZ = join(ROOT, 'build/tiny-package-gz');
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
/** The upstream test vectors (arrays computed by the upstream CosyVoice code). */
export const DEFAULT_VECTORS = join(SHARED_DATA, 'upstream-vectors');
/**
 * The vectors set the upstream-vector tests read: `COSYVOICE_VECTORS_DIR` (a directory in the same layout, e.g. one
 * written by `python -m tools.fixtures.vectors_like`), else the upstream set. Every size, id and expected decision
 * those tests use comes from this set's `config.json` and arrays.
 */
export const UPSTREAM_VECTORS = resolve(process.env['COSYVOICE_VECTORS_DIR'] || DEFAULT_VECTORS);
/** The vectors' checkpoint exported (fp32 only) by test/global-setup.ts; one directory per vectors set. */
export const UPSTREAM_PACKAGE =
  UPSTREAM_VECTORS === DEFAULT_VECTORS
    ? join(ROOT, 'build/upstream-package')
    : join(ROOT, `build/vectors-package-${createHash('sha256').update(UPSTREAM_VECTORS).digest('hex').slice(0, 12)}`);
