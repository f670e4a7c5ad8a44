/**
 * Voice file format: bit-exact round trips and clear rejection of foreign, newer, truncated, corrupted, inconsistent
 * or mismatched files.
 */
import { describe, expect, it } from 'vitest';

import { TTSError } from '../../../src/errors.ts';
import type { VoiceProfile } from '../../../src/models/voice/voice-profile.ts';
import {
  checkVoiceCompatible,
  crc32,
  deserializeVoice,
  serializeVoice,
  VOICE_FORMAT_VERSION,
  voiceExpectation,
  voiceLmPrompt,
  validateVoiceProfile,
} from '../../../src/models/voice/voice-profile.ts';

function sampleVoice(overrides: Partial<VoiceProfile> = {}): VoiceProfile {
  const L = 7;
  const promptFeat = Float32Array.from({ length: 2 * L * 80 }, (_, i) => Math.sin(i) * 7 - 3);
  promptFeat[3] = -0; // signed zero and extreme values survive bit-exactly
  promptFeat[4] = 3.4028234663852886e38;
  promptFeat[5] = 1.401298464324817e-45;
  return {
    promptTextIds: Int32Array.of(99880, 56568, 1773),
    promptTokens: Int32Array.from({ length: L }, (_, i) => (i * 937) % 6561),
    promptFeat,
    embedding: Float32Array.from({ length: 192 }, (_, i) => Math.cos(i) / 3),
    model: {
      modelId: 'tiny-fixture ✓',
      speechTokenSize: 6561,
      textVocabSize: 151936,
      melBins: 80,
      embeddingDim: 192,
      tokenMelRatio: 2,
    },
    sampleRate: 24000,
    createdAt: 1767225600123,
    ...overrides,
  };
}

function bits(a: Float32Array): number[] {
  return Array.from(new Uint32Array(a.buffer, a.byteOffset, a.length));
}

function reason(run: () => unknown): string {
  try {
    run();
  } catch (error) {
    expect(error).toBeInstanceOf(TTSError);
    expect((error as TTSError).code).toBe('ERR_INVALID_INPUT');
    return String((error as TTSError).details?.['reason']);
  }
  throw new Error('expected an error');
}

/** A copy of `bytes` with a fixed-up CRC after `edit` (to reach the checks behind the checksum). */
function edited(bytes: Uint8Array, edit: (view: DataView) => void): Uint8Array {
  const copy = bytes.slice();
  const view = new DataView(copy.buffer);
  edit(view);
  view.setUint32(copy.length - 4, crc32(copy.subarray(0, copy.length - 4)), true);
  return copy;
}

describe('voice file format', () => {
  it('round-trips bit-exactly (bytes and arrays), with and without createdAt', () => {
    const { createdAt, ...undated } = sampleVoice({ promptTextIds: new Int32Array(0) });
    expect(createdAt).toBeDefined();
    for (const plain of [sampleVoice(), undated] as VoiceProfile[]) {
      const bytes = serializeVoice(plain);
      const back = deserializeVoice(bytes);
      expect(Array.from(back.promptTextIds)).toEqual(Array.from(plain.promptTextIds));
      expect(Array.from(back.promptTokens)).toEqual(Array.from(plain.promptTokens));
      expect(bits(back.promptFeat)).toEqual(bits(plain.promptFeat));
      expect(bits(back.embedding)).toEqual(bits(plain.embedding));
      expect(back.model).toEqual(plain.model);
      expect(back.sampleRate).toBe(plain.sampleRate);
      expect(back.createdAt).toBe(plain.createdAt);
      expect('createdAt' in back).toBe(plain.createdAt !== undefined);
      expect(serializeVoice(back)).toEqual(bytes);
    }
  });

  it('has the documented layout', () => {
    const voice = sampleVoice();
    const bytes = serializeVoice(voice);
    const view = new DataView(bytes.buffer);
    expect(String.fromCharCode(...bytes.subarray(0, 4))).toBe('CVVP');
    expect(view.getUint16(4, true)).toBe(VOICE_FORMAT_VERSION);
    expect(view.getUint32(8, true)).toBe(bytes.length);
    const idBytes = new TextEncoder().encode(voice.model.modelId).length;
    const idPadded = Math.ceil(idBytes / 4) * 4;
    expect(bytes.length).toBe(52 + idPadded + 4 * (3 + 7 + 14 * 80 + 192) + 4);
    expect(view.getUint32(bytes.length - 4, true)).toBe(crc32(bytes.subarray(0, bytes.length - 4)));
    // first prompt text id right after the padded model id
    expect(view.getInt32(52 + idPadded, true)).toBe(99880);
  });

  it('CRC-32 matches the standard check value', () => {
    expect(crc32(new TextEncoder().encode('123456789'))).toBe(0xcbf43926);
  });

  it('rejects foreign, newer, truncated and corrupted files', () => {
    const bytes = serializeVoice(sampleVoice());
    expect(reason(() => deserializeVoice(new Uint8Array(0)))).toBe('magic');
    expect(reason(() => deserializeVoice(new TextEncoder().encode('RIFF....WAVEfmt ')))).toBe('magic');
    const newer = bytes.slice();
    new DataView(newer.buffer).setUint16(4, VOICE_FORMAT_VERSION + 1, true);
    expect(reason(() => deserializeVoice(newer))).toBe('version');
    expect(() => deserializeVoice(newer)).toThrow(/newer than this library reads/);
    expect(reason(() => deserializeVoice(bytes.subarray(0, 30)))).toBe('truncated');
    expect(reason(() => deserializeVoice(bytes.subarray(0, bytes.length - 1)))).toBe('truncated');
    expect(reason(() => deserializeVoice(Uint8Array.from([...bytes, 0])))).toBe('truncated');
    for (const at of [12, 60, 200, bytes.length - 200, bytes.length - 1]) {
      const corrupted = bytes.slice();
      corrupted[at] = (corrupted[at] ?? 0) ^ 0x10;
      expect(reason(() => deserializeVoice(corrupted))).toBe('checksum');
    }
  });

  it('rejects inconsistent content behind a valid checksum', () => {
    const bytes = serializeVoice(sampleVoice());
    const reasonAfter = (edit: (view: DataView) => void): string => reason(() => deserializeVoice(edited(bytes, edit)));
    const idPadded = Math.ceil(new TextEncoder().encode(sampleVoice().model.modelId).length / 4) * 4;
    const firstToken = 52 + idPadded + 3 * 4;
    // mel frames ≠ ratio · tokens
    expect(
      reasonAfter((v) => {
        v.setUint32(40, 13, true);
      }),
    ).toBe('format');
    // unknown flag
    expect(
      reasonAfter((v) => {
        v.setUint16(6, 3, true);
      }),
    ).toBe('format');
    // a token ≥ V
    expect(
      reasonAfter((v) => {
        v.setInt32(firstToken, 6561, true);
      }),
    ).toBe('format');
    // a NaN in the mel
    expect(
      reasonAfter((v) => {
        v.setFloat32(firstToken + 7 * 4, NaN, true);
      }),
    ).toBe('format');
  });

  it('checks the expected model dimensions', () => {
    const bytes = serializeVoice(sampleVoice());
    expect(deserializeVoice(bytes, { expect: { melBins: 80, embeddingDim: 192, sampleRate: 24000 } }).sampleRate).toBe(
      24000,
    );
    expect(reason(() => deserializeVoice(bytes, { expect: { speechTokenSize: 300, embeddingDim: 192 } }))).toBe(
      'model-mismatch',
    );
    expect(() => deserializeVoice(bytes, { expect: { speechTokenSize: 300, sampleRate: 22050 } })).toThrow(
      /speechTokenSize 6561 \(expected 300\), sampleRate 24000 \(expected 22050\)/,
    );
    expect(() => {
      checkVoiceCompatible(sampleVoice(), { modelId: 'other' });
    }).toThrow(/modelId "tiny-fixture ✓" \(expected "other"\)/);
  });

  it('refuses to write an inconsistent profile', () => {
    expect(() => serializeVoice(sampleVoice({ embedding: new Float32Array(191) }))).toThrow(/embedding has 191/);
    expect(() => serializeVoice(sampleVoice({ promptFeat: new Float32Array(80) }))).toThrow(/promptFeat has 80/);
    expect(() => {
      validateVoiceProfile(sampleVoice({ promptTextIds: Int32Array.of(151936) }));
    }).toThrow(/promptTextIds\[0\] = 151936/);
    expect(() => serializeVoice(sampleVoice({ createdAt: NaN }))).toThrow(/createdAt/);
  });

  it('builds the expectation of a model package', () => {
    const manifest = {
      modelId: 'm',
      config: {
        sampleRate: 24000,
        melBins: 80,
        tokenMelRatio: 2,
        llm: { speechTokenSize: 6561, textVocabSize: 151936 },
        flow: { spkEmbedDim: 192 },
      },
    } as unknown as Parameters<typeof voiceExpectation>[0];
    const dims = { speechTokenSize: 6561, textVocabSize: 151936, melBins: 80, embeddingDim: 192, tokenMelRatio: 2 };
    expect(voiceExpectation(manifest)).toEqual({ ...dims, sampleRate: 24000 });
    expect(voiceExpectation(manifest, { matchModelId: true })).toEqual({ ...dims, sampleRate: 24000, modelId: 'm' });
    const bytes = serializeVoice(sampleVoice());
    expect(deserializeVoice(bytes, { expect: voiceExpectation(manifest) }).sampleRate).toBe(24000);
    expect(reason(() => deserializeVoice(bytes, { expect: voiceExpectation(manifest, { matchModelId: true }) }))).toBe(
      'model-mismatch',
    );
  });

  it('gives the LM prompt as id lists', () => {
    const voice = sampleVoice();
    expect(voiceLmPrompt(voice)).toEqual({
      promptTextIds: [99880, 56568, 1773],
      promptSpeechIds: Array.from(voice.promptTokens),
    });
  });
});
