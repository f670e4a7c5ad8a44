/**
 * Bad-input table, WAV part (issue #13.6): prompt recordings whose header lies or whose samples are corrupt are refused
 * with ERR_INVALID_INPUT instead of cloning a voice from garbage. The sizes come from the real prompt recording.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { decodeWav, encodeWav } from '../../../src/dsp/index.ts';
import { SHARED_DATA } from '../../helpers/package.ts';

const PROMPT = new Uint8Array(readFileSync(join(SHARED_DATA, 'prompts/cross_lingual_prompt.wav')));

/** Offset of a fmt field (the canonical 44-byte layout that encodeWav writes and the prompt uses). */
const BLOCK_ALIGN = 32;

function withUint16(bytes: Uint8Array, at: number, value: number): Uint8Array {
  const copy = bytes.slice();
  new DataView(copy.buffer).setUint16(at, value, true);
  return copy;
}

/** Where the samples of the file's "data" chunk start. */
function dataOffset(bytes: Uint8Array): number {
  const at = Buffer.from(bytes).indexOf('data', 12, 'latin1');
  expect(at).toBeGreaterThan(0);
  return at + 8;
}

function expectInvalid(bytes: Uint8Array, message: RegExp): void {
  let error: unknown;
  try {
    decodeWav(bytes);
  } catch (e) {
    error = e;
  }
  expect(error).toMatchObject({ code: 'ERR_INVALID_INPUT' });
  expect((error as Error).message).toMatch(message);
}

describe('WAV header consistency and sample sanity', () => {
  it('the real prompt decodes (the probes below start from a good file)', () => {
    const wav = decodeWav(PROMPT);
    expect(wav.numFrames).toBe((PROMPT.length - 44) / (2 * wav.numChannels));
  });

  for (const lie of [1, 4, 32, 0]) {
    it(`a blockAlign of ${lie} that disagrees with channels × bits / 8 is refused`, () => {
      const actual = new DataView(PROMPT.buffer, PROMPT.byteOffset).getUint16(BLOCK_ALIGN, true);
      expect(lie).not.toBe(actual);
      expectInvalid(withUint16(PROMPT, BLOCK_ALIGN, lie), /blockAlign is \d+ bytes .* must equal channels × bits \/ 8/);
    });
  }

  for (const bad of [1e30, -1e30, Number.NaN, Number.POSITIVE_INFINITY]) {
    for (const encoding of ['float32', 'float64'] as const) {
      it(`a ${encoding} sample of ${bad} is refused`, () => {
        const samples = new Float32Array(4800).fill(0.1);
        const file = encodeWav(samples, 24000, { encoding });
        const view = new DataView(file.buffer, file.byteOffset);
        const at = dataOffset(file) + 1234 * (encoding === 'float32' ? 4 : 8);
        if (encoding === 'float32') view.setFloat32(at, bad, true);
        else view.setFloat64(at, bad, true);
        expectInvalid(file, /float samples must be finite and within ±1000/);
      });
    }
  }

  it('loud but plausible float audio (above full scale) still decodes', () => {
    const samples = Float32Array.from({ length: 4800 }, (_, i) => 4 * Math.sin(i / 10));
    expect(decodeWav(encodeWav(samples, 24000, { encoding: 'float32' })).samples).toEqual(samples);
  });
});
