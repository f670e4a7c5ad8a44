import { describe, expect, it } from 'vitest';
import { stageDtypes } from '../../src/loader/manifest.ts';
import { loadOrt } from '../../src/runtime/ort.ts';
import { TINY_PACKAGE, openPackageDir } from '../helpers/package.ts';

describe('tiny fixture package', () => {
  it('parses, lists its stage variants and creates every graph session on wasm', async () => {
    const pkg = await openPackageDir(TINY_PACKAGE);
    expect(pkg.manifest.modelId).toBe('tiny-fixture');
    expect(stageDtypes(pkg.manifest, 'lm')).toEqual(['fp32', 'int8', 'q4']);
    // fp16w (fp32 arithmetic on fp16-stored weights) is exported for the flow and the vocoder only
    expect(stageDtypes(pkg.manifest, 'flow')).toEqual(['fp32', 'fp16w', 'int8', 'q4']);
    expect(stageDtypes(pkg.manifest, 'vocoder')).toEqual(['fp32', 'fp16w', 'int8', 'q4']);
    expect(stageDtypes(pkg.manifest, 'voice')).toEqual(['fp32']);
    const ort = await loadOrt('wasm');
    const lmGraphs = ['embed_text', 'embed_speech', 'llm'] as const;
    const flowAndVocoder = ['flow_encoder', 'flow_step', 'flow_step_incremental', 'hift_f0', 'hift_decoder'] as const;
    for (const dtype of ['fp32', 'fp16w', 'int8', 'q4'] as const) {
      for (const graph of dtype === 'fp16w' ? flowAndVocoder : [...lmGraphs, ...flowAndVocoder]) {
        const session = await pkg.session(ort, graph, { device: 'wasm', dtype });
        expect(session.inputNames.length).toBeGreaterThan(0);
        await session.release();
      }
    }
    const noise = await pkg.noise();
    expect(noise.length).toBe(80 * pkg.manifest.config.flow.noiseFrames);
    // torch.randn seed 0, first values (spec §5.4)
    expect(Array.from(noise.slice(0, 3))).toEqual([
      Math.fround(-1.1258398294448853),
      Math.fround(-1.152360200881958),
      Math.fround(-0.2505785822868347),
    ]);
  });
});
