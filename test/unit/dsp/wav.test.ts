import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { decodeWav, encodeWav, type WavEncoding } from '../../../src/dsp/index.ts';
import { golden, lcg, SHARED } from './golden.ts';

const ENCODINGS: readonly WavEncoding[] = ['pcm8', 'pcm16', 'pcm24', 'pcm32', 'float32', 'float64'];
const STEP: Readonly<Record<WavEncoding, number>> = {
  pcm8: 1 / 128,
  pcm16: 1 / 32768,
  pcm24: 1 / 8388608,
  pcm32: 1 / 2147483648,
  float32: 0,
  float64: 0,
};

/**
 * Values on the encoding's integer grid (for pcm32 a coarser 2^-23 grid, so they are exact in float32 too),
 * including both extremes, without −0.
 */
function gridSignal(encoding: WavEncoding, n: number): Float32Array {
  const step = Math.max(STEP[encoding], 2 ** -23);
  const x = lcg(n, n);
  if (STEP[encoding] === 0) return x;
  const full = 1 / step;
  const out = x.map((v) => Math.min(Math.round(v * full) / full, 1 - step) + 0);
  out[0] = -1;
  out[1] = 1 - step;
  return out;
}

describe('WAV decode/encode round trips', () => {
  it.each(ENCODINGS)('%s mono: decode(encode(x)) = x, encode(decode(bytes)) = bytes', (encoding) => {
    const x = gridSignal(encoding, 1001);
    const bytes = encodeWav(x, 22050, { encoding });
    const wav = decodeWav(bytes);
    expect(wav).toMatchObject({ sampleRate: 22050, numChannels: 1, encoding, numFrames: 1001 });
    expect(Array.from(wav.samples)).toEqual(Array.from(x));
    expect(Buffer.from(encodeWav(wav.samples, 22050, { encoding })).equals(Buffer.from(bytes))).toBe(true);
  });

  it.each(ENCODINGS)('%s stereo and 3-channel files are averaged to mono', (encoding) => {
    for (const channels of [2, 3]) {
      const frames = 257;
      const interleaved = gridSignal(encoding, frames * channels);
      const wav = decodeWav(encodeWav(interleaved, 48000, { encoding, numChannels: channels }));
      expect(wav.numChannels).toBe(channels);
      expect(wav.numFrames).toBe(frames);
      for (let f = 0; f < frames; f++) {
        let sum = 0;
        for (let c = 0; c < channels; c++) sum += interleaved[f * channels + c] ?? 0;
        expect(wav.samples[f]).toBe(Math.fround(sum / channels));
      }
    }
  });

  it('integer encoders round and clip', () => {
    const wav = decodeWav(encodeWav(Float32Array.of(1.5, -2, 0.49 / 32768, NaN), 16000));
    expect(Array.from(wav.samples)).toEqual([32767 / 32768, -1, 0, 0]);
    const u8 = encodeWav(Float32Array.of(-1, 0, 0.5), 8000, { encoding: 'pcm8' });
    expect(Array.from(u8.subarray(44))).toEqual([0, 128, 192, 0]); // + pad byte
  });

  it('decodes the shared recordings bit-identically to soundfile / torchaudio.load', () => {
    const encodings: Readonly<Record<string, WavEncoding>> = {
      zero_shot: 'float32',
      cross_lingual: 'pcm16',
      w0121: 'pcm16',
    };
    for (const [key, rel] of Object.entries(golden.recordings)) {
      const wav = decodeWav(readFileSync(path.join(SHARED, rel)));
      const ref = golden.recordingsDecoded[key];
      expect(wav).toMatchObject({
        numChannels: 1,
        encoding: encodings[key],
        sampleRate: ref?.sampleRate,
        numFrames: ref?.numFrames,
      });
      const bytes = Buffer.from(wav.samples.buffer, wav.samples.byteOffset, wav.samples.byteLength);
      expect(createHash('sha256').update(bytes).digest('hex')).toBe(ref?.sha256);
    }
  });

  it('accepts WAVE_FORMAT_EXTENSIBLE, extra chunks, odd-sized chunks and DataView/offset inputs', () => {
    const plain = encodeWav(Float32Array.of(0.25, -0.5, 0.75, -1), 16000, { encoding: 'pcm24', numChannels: 2 });
    // Rebuild as: RIFF, odd 'LIST' chunk (+pad), extensible fmt (40 bytes), data.
    const data = plain.subarray(44);
    const fmt = new Uint8Array(48);
    const fv = new DataView(fmt.buffer);
    fmt.set([0x66, 0x6d, 0x74, 0x20]);
    fv.setUint32(4, 40, true);
    fv.setUint16(8, 0xfffe, true);
    fv.setUint16(10, 2, true);
    fv.setUint32(12, 16000, true);
    fv.setUint32(16, 16000 * 6, true);
    fv.setUint16(20, 6, true);
    fv.setUint16(22, 24, true);
    fv.setUint16(24, 22, true); // cbSize
    fv.setUint16(26, 24, true); // valid bits
    fv.setUint32(28, 3, true); // channel mask
    fv.setUint16(32, 1, true); // KSDATAFORMAT_SUBTYPE_PCM
    const list = Uint8Array.from([0x4c, 0x49, 0x53, 0x54, 3, 0, 0, 0, 1, 2, 3, 0]);
    const dataHeader = Uint8Array.from([0x64, 0x61, 0x74, 0x61, data.length, 0, 0, 0]);
    const total = 12 + list.length + fmt.length + dataHeader.length + data.length;
    const file = new Uint8Array(total + 5);
    const view = new DataView(file.buffer, 5);
    file.set([0x52, 0x49, 0x46, 0x46], 5);
    view.setUint32(4, total - 8, true);
    file.set([0x57, 0x41, 0x56, 0x45], 13);
    let at = 17;
    for (const part of [list, fmt, dataHeader, data]) {
      file.set(part, at);
      at += part.length;
    }
    const wav = decodeWav(file.subarray(5));
    expect(wav).toMatchObject({ encoding: 'pcm24', numChannels: 2, numFrames: 2, sampleRate: 16000 });
    expect(Array.from(wav.samples)).toEqual([-0.125, -0.125]);
    expect(decodeWav(new DataView(file.buffer, 5)).samples).toEqual(wav.samples);
  });

  it('reads a streamed file whose data size field overruns the file', () => {
    const bytes = encodeWav(Float32Array.of(0.5, 0.25, -0.25), 16000);
    new DataView(bytes.buffer).setUint32(40, 0xffffffff, true);
    expect(Array.from(decodeWav(bytes.subarray(0, 44 + 5)).samples)).toEqual([0.5, 0.25]);
  });
});

describe('WAV errors say what was wrong and what is allowed', () => {
  const good = encodeWav(Float32Array.of(0.1, 0.2), 16000);

  it('not RIFF/WAVE', () => {
    expect(() => decodeWav(new TextEncoder().encode('OggS................'))).toThrow(
      /^ERR_INVALID_INPUT: not a WAV file: expected "RIFF....WAVE".*decodeAudioData/,
    );
    expect(() => decodeWav(new Uint8Array(4))).toThrow(/shorter than the 12-byte RIFF header/);
  });

  it('truncated header', () => {
    expect(() => decodeWav(good.subarray(0, 30))).toThrow(/^ERR_INVALID_INPUT: truncated WAV header: the fmt chunk/);
    expect(() => decodeWav(good.subarray(0, 36))).toThrow(/^ERR_INVALID_INPUT: truncated WAV file: no "data" chunk/);
  });

  it('unsupported formats list the supported ones', () => {
    const alaw = good.slice();
    new DataView(alaw.buffer).setUint16(20, 6, true);
    new DataView(alaw.buffer).setUint16(34, 8, true);
    expect(() => decodeWav(alaw)).toThrow(
      /unsupported WAV sample format: 8-bit A-law; supported: PCM 8\/16\/24\/32-bit integer and IEEE float 32\/64-bit/,
    );
    const pcm12 = good.slice();
    new DataView(pcm12.buffer).setUint16(34, 12, true);
    expect(() => decodeWav(pcm12)).toThrow(/12-bit integer PCM/);
  });

  it('empty audio', () => {
    expect(() => decodeWav(encodeWav(new Float32Array(0), 16000))).toThrow(
      /^ERR_INVALID_INPUT: empty WAV: the data chunk holds no complete sample frame/,
    );
  });

  it('bad encoder arguments', () => {
    expect(() => encodeWav(new Float32Array(2), 0)).toThrow(/sampleRate must be a positive integer/);
    expect(() => encodeWav(new Float32Array(3), 16000, { numChannels: 2 })).toThrow(/not a whole number of 2-channel/);
    expect(() => encodeWav(new Float32Array(2), 16000, { encoding: 'mp3' as WavEncoding })).toThrow(
      /expected one of pcm8, pcm16, pcm24, pcm32, float32, float64/,
    );
  });
});
