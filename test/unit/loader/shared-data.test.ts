/**
 * Weights two graphs share (issue #11 item 6): `flow_step` and `flow_step_incremental` reference one external-data
 * file per dtype (tools/export/shared_weights.py). The tiny package's manifest must say so, the flow stage must count
 * the file once, the HTTP loader must download it once for both sessions (no cache: the worst case), and both
 * sessions must load from it.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseManifest, stageFiles, variantFiles } from '../../../src/loader/manifest.ts';
import { RemotePackageFiles } from '../../../src/loader/remote-package.ts';
import { ModelPackage } from '../../../src/runtime/model-package.ts';
import { loadOrt } from '../../../src/runtime/ort.ts';
import { TINY_PACKAGE } from '../../helpers/package.ts';

const BASE = 'https://models.example/tiny/';
const manifest = parseManifest(JSON.parse(readFileSync(join(TINY_PACKAGE, 'manifest.json'), 'utf8')));
const ESTIMATOR_GRAPHS = ['flow_step', 'flow_step_incremental'] as const;
const dtypes = Object.keys(manifest.graphs.flow_step ?? {}) as Array<
  keyof NonNullable<typeof manifest.graphs.flow_step>
>;

describe('the estimator graphs share one external-data file per dtype', () => {
  it.each(dtypes)('%s: both variants list the same data file, the flow stage counts it once', (dtype) => {
    const [step, incremental] = ESTIMATOR_GRAPHS.map((g) => manifest.graphs[g]?.[dtype]);
    expect(step?.externalData.length).toBe(1);
    expect(incremental?.externalData).toEqual(step?.externalData);
    const shared = step?.externalData[0] ?? '';
    expect(manifest.files.find((f) => f.path === shared)?.kind).toBe('external-data');
    const files = stageFiles(manifest, 'flow', dtype);
    expect(files.filter((p) => p === shared)).toHaveLength(1);
    // the shared file holds the weights: it is larger than what either graph keeps inline
    const bytes = (p: string): number => manifest.files.find((f) => f.path === p)?.bytes ?? 0;
    const graphBytes = ESTIMATOR_GRAPHS.map((g) => bytes(variantFiles(manifest, g, dtype)[0]?.path ?? ''));
    expect(bytes(shared)).toBeGreaterThan(Math.min(...graphBytes));
  });

  it('the HTTP loader downloads the shared file once for both sessions, and both load from it', async () => {
    const dtype = 'fp32';
    const requests: string[] = [];
    const fetchFn = (input: string | URL | Request): Promise<Response> => {
      const url = input instanceof Request ? input.url : input.toString();
      requests.push(url.slice(BASE.length));
      const body = new Uint8Array(readFileSync(join(TINY_PACKAGE, decodeURIComponent(url.slice(BASE.length)))));
      return Promise.resolve(new Response(body, { headers: { 'content-length': String(body.byteLength) } }));
    };
    const files = new RemotePackageFiles(BASE, { fetch: fetchFn });
    const pkg = new ModelPackage(manifest, files);
    const paths = [...new Set(ESTIMATOR_GRAPHS.flatMap((g) => variantFiles(manifest, g, dtype).map((f) => f.path)))];
    await pkg.verify(paths);
    const ort = await loadOrt('wasm');
    const sessions = [];
    for (const graph of ESTIMATOR_GRAPHS) sessions.push(await pkg.session(ort, graph, { device: 'wasm', dtype }));
    files.forgetUnread();
    expect(requests.sort()).toEqual([...paths].sort());
    expect(sessions.map((s) => s.inputNames.includes('x'))).toEqual([true, true]);
    for (const s of sessions) await s.release();
  });
});
