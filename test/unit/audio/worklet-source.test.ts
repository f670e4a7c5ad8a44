/**
 * The committed `src/audio/worklet-source.generated.ts` must be exactly what `scripts/build-worklet.ts` builds from the
 * current worklet sources, and the bundle must be self-contained.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { bundleWorklet, GENERATED_MODULE, generatedModuleFor } from '../../../scripts/build-worklet.ts';
import { PROCESSOR_NAME } from '../../../src/audio/playback-protocol.ts';
import { WORKLET_SOURCE } from '../../../src/audio/worklet-source.generated.ts';

describe('worklet-source.generated.ts', () => {
  it('is up to date (rebuild with `npx tsx scripts/build-worklet.ts`)', async () => {
    const code = await bundleWorklet();
    expect(WORKLET_SOURCE).toBe(code);
    expect(readFileSync(GENERATED_MODULE, 'utf8')).toBe(await generatedModuleFor(code));
  });

  it('is a self-contained module that registers the versioned processor and never logs', () => {
    expect(WORKLET_SOURCE).not.toMatch(/\bimport\s*[({"'\w*]|\bexport\s/);
    expect(WORKLET_SOURCE).toContain(JSON.stringify(PROCESSOR_NAME));
    expect(WORKLET_SOURCE).toContain('registerProcessor(');
    expect(WORKLET_SOURCE).not.toMatch(/\bconsole\./);
  });
});
