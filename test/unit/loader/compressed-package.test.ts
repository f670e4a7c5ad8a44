/**
 * Compressed packages (format version 2, `python -m tools.export.compress`; test/global-setup.ts writes the tiny
 * package compressed into `TINY_PACKAGE_GZ`): what the tool writes must describe the stored files, load from disk and
 * over HTTP, and compute exactly what the plain package computes.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import type { Stage } from '../../../src/base/stages.ts';
import { Engine } from '../../../src/engine/engine.ts';
import type { ModelManifest } from '../../../src/loader/manifest.ts';
import { decodedPath, parseManifest, variantFiles } from '../../../src/loader/manifest.ts';
import { RemotePackageFiles } from '../../../src/loader/remote-package.ts';
import { resolvePlacement } from '../../../src/request/placement.ts';
import { NO_GPU } from '../../../src/runtime/device.ts';
import { ModelPackage } from '../../../src/runtime/model-package.ts';
import { loadOrt } from '../../../src/runtime/ort.ts';
import { openModelDir } from '../../../tools/cli/node-package.ts';
import { TINY_PACKAGE, TINY_PACKAGE_GZ } from '../../helpers/package.ts';
import { goldenVoice } from '../../helpers/voice.ts';

const readManifest = (dir: string): ModelManifest =>
  parseManifest(JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8')));
const plain = readManifest(TINY_PACKAGE);
const compressed = readManifest(TINY_PACKAGE_GZ);
const sha256 = (bytes: Uint8Array): string => createHash('sha256').update(bytes).digest('hex');

describe('a package compressed by tools/export/compress.py', () => {
  it('lists every file of the plain package, stored as gzip where that is smaller, as format version 2', () => {
    const encoded = compressed.files.filter((f) => f.encoding === 'gzip');
    expect(encoded.length).toBeGreaterThan(0);
    expect(compressed.formatVersion).toBe(2);
    expect(compressed.files.map(decodedPath).sort()).toEqual(plain.files.map((f) => f.path).sort());
    for (const file of compressed.files) {
      const original = plain.files.find((f) => f.path === decodedPath(file));
      const stored = new Uint8Array(readFileSync(join(TINY_PACKAGE_GZ, file.path)));
      expect([file.path, stored.byteLength, sha256(stored)]).toEqual([file.path, file.bytes, file.sha256]);
      expect({ ...file, path: decodedPath(file) }).toMatchObject({
        ...original,
        bytes: file.bytes,
        sha256: file.sha256,
      });
      if (file.encoding === undefined) continue;
      expect(file.bytes).toBeLessThan(original?.bytes ?? 0);
      const content = gunzipSync(stored);
      expect([content.byteLength, sha256(content)]).toEqual([file.decodedBytes, original?.sha256]);
    }
  });

  it('its graphs, tokenizer and noise point at the stored files', () => {
    const refs = (m: ModelManifest): string[] => [
      m.tokenizer,
      m.noise,
      ...Object.values(m.graphs).flatMap((variants) =>
        Object.values(variants).flatMap((v) => [v.file, ...v.externalData]),
      ),
    ];
    const stored = refs(compressed);
    for (const path of stored) expect(compressed.files.some((f) => f.path === path)).toBe(true);
    const decoded = stored.map((p) => {
      const file = compressed.files.find((f) => f.path === p);
      return file === undefined ? p : decodedPath(file);
    });
    expect(decoded).toEqual(refs(plain));
  });

  it('the engine (files verified as stored, then decoded) says exactly what it says on the plain package', async () => {
    const ort = await loadOrt('wasm');
    const placed = resolvePlacement(plain, { device: 'wasm', dtype: 'auto' }, NO_GPU);
    const stages = ['lm', 'flow', 'vocoder'] as const satisfies readonly Stage[];
    const dtype = Object.fromEntries(stages.map((stage) => [stage, placed[stage].dtype]));
    const say = async (dir: string): Promise<Float32Array> => {
      const pkg = await openModelDir(dir);
      const engine = await Engine.create(pkg, ort, { device: 'wasm', dtype });
      try {
        return (await engine.synthesize('Hello there.', { voice: goldenVoice(pkg), seed: 5 })).samples;
      } finally {
        await engine.dispose();
      }
    };
    const [fromPlain, fromCompressed] = [await say(TINY_PACKAGE), await say(TINY_PACKAGE_GZ)];
    expect(fromPlain.length).toBeGreaterThan(0);
    expect(Buffer.from(fromCompressed.buffer).equals(Buffer.from(fromPlain.buffer))).toBe(true);
  });

  it('over HTTP the loader downloads the stored files once and sessions load from their decoded bytes', async () => {
    const base = 'https://models.example/tiny-gz/';
    const requests: string[] = [];
    const fetchFn = (input: string | URL | Request): Promise<Response> => {
      const path = decodeURIComponent((input instanceof Request ? input.url : input.toString()).slice(base.length));
      requests.push(path);
      const body = new Uint8Array(readFileSync(join(TINY_PACKAGE_GZ, path)));
      return Promise.resolve(new Response(body, { headers: { 'content-length': String(body.byteLength) } }));
    };
    const files = new RemotePackageFiles(base, { fetch: fetchFn });
    const pkg = new ModelPackage(compressed, files);
    const graphs = ['flow_step', 'flow_step_incremental'] as const;
    const paths = [...new Set(graphs.flatMap((g) => variantFiles(compressed, g, 'fp32').map((f) => f.path)))];
    expect(paths.some((p) => p.endsWith('.gz'))).toBe(true);
    await pkg.verify(paths);
    const ort = await loadOrt('wasm');
    const sessions = [];
    for (const graph of graphs) sessions.push(await pkg.session(ort, graph, { device: 'wasm', dtype: 'fp32' }));
    files.forgetUnread();
    expect(requests.sort()).toEqual([...paths].sort());
    expect(sessions.map((s) => s.inputNames.includes('x'))).toEqual([true, true]);
    for (const s of sessions) await s.release();
    const tokenizer = await pkg.tokenizerJson();
    expect(tokenizer).toBe(readFileSync(join(TINY_PACKAGE, plain.tokenizer), 'utf8'));
  });
});
