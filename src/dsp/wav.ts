/**
 * WAV (RIFF/WAVE) decoding to mono float32 and encoding from float32.
 *
 * Decodes integer PCM of 8 (unsigned), 16, 24 and 32 bits and IEEE float of 32 and 64 bits, plain or
 * WAVE_FORMAT_EXTENSIBLE, any sample rate and channel count. Integer samples are scaled by 1/2^(bits−1) (8-bit:
 * (v − 128)/128), exactly as libsndfile / soundfile / torchaudio.load do, and channels are averaged to mono as
 * CosyVoice's `load_wav` does. Other containers (webm, ogg, mp3, m4a) must be decoded by the browser
 * (`AudioContext.decodeAudioData`) before reaching this layer.
 *
 * @module
 */

import { invalidInput } from './errors.ts';

/** Sample encodings {@link encodeWav} can write and {@link decodeWav} can read. */
export type WavEncoding = 'pcm8' | 'pcm16' | 'pcm24' | 'pcm32' | 'float32' | 'float64';

/** Header facts of a decoded WAV file. */
export interface WavInfo {
  /** Samples per second. */
  readonly sampleRate: number;
  /** Channels in the file (the decoded samples are mono). */
  readonly numChannels: number;
  /** Sample encoding in the file. */
  readonly encoding: WavEncoding;
  /** Frames (samples per channel). */
  readonly numFrames: number;
}

/** A decoded WAV: header facts and the mono mix. */
export interface DecodedWav extends WavInfo {
  /** Mono samples (channel average), nominally in [−1, 1). */
  readonly samples: Float32Array;
}

const FORMAT_PCM = 1;
const FORMAT_FLOAT = 3;
const FORMAT_EXTENSIBLE = 0xfffe;

const SUPPORTED = 'supported: PCM 8/16/24/32-bit integer and IEEE float 32/64-bit, plain or WAVE_FORMAT_EXTENSIBLE';

function fourcc(view: DataView, at: number): string {
  return String.fromCharCode(view.getUint8(at), view.getUint8(at + 1), view.getUint8(at + 2), view.getUint8(at + 3));
}

function toView(data: ArrayBuffer | ArrayBufferView): DataView {
  if (data instanceof ArrayBuffer) return new DataView(data);
  if (ArrayBuffer.isView(data)) return new DataView(data.buffer, data.byteOffset, data.byteLength);
  throw invalidInput('decodeWav expects an ArrayBuffer or a typed array / DataView over the file bytes.');
}

function encodingOf(formatTag: number, bits: number): WavEncoding | undefined {
  if (formatTag === FORMAT_PCM) {
    if (bits === 8) return 'pcm8';
    if (bits === 16) return 'pcm16';
    if (bits === 24) return 'pcm24';
    if (bits === 32) return 'pcm32';
  } else if (formatTag === FORMAT_FLOAT) {
    if (bits === 32) return 'float32';
    if (bits === 64) return 'float64';
  }
  return undefined;
}

function describeFormat(formatTag: number): string {
  switch (formatTag) {
    case FORMAT_PCM:
      return 'integer PCM';
    case FORMAT_FLOAT:
      return 'IEEE float';
    case 2:
      return 'Microsoft ADPCM';
    case 6:
      return 'A-law';
    case 7:
      return 'µ-law';
    case 0x55:
      return 'MP3';
    default:
      return `format tag 0x${formatTag.toString(16)}`;
  }
}

/**
 * Largest float sample magnitude accepted (full scale is ±1; float WAVs may exceed it a little, a recording never by
 * 60 dB — a 1e30 sample is corruption, and would otherwise reach the models as a valid prompt).
 */
export const MAX_FLOAT_MAGNITUDE = 1000;

/**
 * Reads a WAV file and returns its mono mix as float32.
 *
 * Unknown chunks are skipped; a `data` chunk whose size field overruns the file (streamed recordings write 0 or
 * 0xFFFFFFFF) is read up to the last whole frame present.
 *
 * @param data - the file bytes
 * @returns header facts and mono samples
 * @throws {Error} `ERR_INVALID_INPUT` when the bytes are not RIFF/WAVE, the header is truncated or inconsistent
 *   (blockAlign ≠ channels × bits / 8), the sample format is unsupported (the message lists what is supported), a float
 *   sample is not finite or beyond ±{@link MAX_FLOAT_MAGNITUDE}, or there are no samples
 * @example
 * ```ts
 * const wav = decodeWav(new Uint8Array(await file.arrayBuffer()));
 * const audio16k = resample(wav.samples, createResamplePlan(wav.sampleRate, 16000));
 * ```
 * @see soundfile.read(dtype='float32') / torchaudio.load(normalize=True) followed by mean over channels
 */
export function decodeWav(data: ArrayBuffer | ArrayBufferView): DecodedWav {
  const view = toView(data);
  const size = view.byteLength;
  if (size < 12) {
    throw invalidInput(`not a WAV file: ${size} bytes is shorter than the 12-byte RIFF header.`);
  }
  const riff = fourcc(view, 0);
  if (riff !== 'RIFF' || fourcc(view, 8) !== 'WAVE') {
    const hint = riff === 'RIFX' || riff === 'RF64' ? ` (${riff} variant is not supported)` : '';
    throw invalidInput(
      `not a WAV file${hint}: expected "RIFF....WAVE" little-endian header; ` +
        'decode other formats (webm, ogg, mp3, m4a) with the browser (AudioContext.decodeAudioData).',
    );
  }
  let fmt: { tag: number; channels: number; rate: number; blockAlign: number; bits: number } | undefined;
  let dataStart = -1;
  let dataSize = 0;
  let at = 12;
  while (at + 8 <= size) {
    const id = fourcc(view, at);
    const chunkSize = view.getUint32(at + 4, true);
    const body = at + 8;
    if (id === 'fmt ') {
      if (chunkSize < 16 || body + 16 > size) {
        throw invalidInput(`truncated WAV header: the fmt chunk has ${Math.min(chunkSize, size - body)} of 16 bytes.`);
      }
      let tag = view.getUint16(body, true);
      const channels = view.getUint16(body + 2, true);
      const rate = view.getUint32(body + 4, true);
      const blockAlign = view.getUint16(body + 12, true);
      const bits = view.getUint16(body + 14, true);
      if (tag === FORMAT_EXTENSIBLE) {
        if (chunkSize < 40 || body + 40 > size) {
          throw invalidInput('truncated WAV header: WAVE_FORMAT_EXTENSIBLE fmt chunk shorter than 40 bytes.');
        }
        tag = view.getUint16(body + 24, true); // first two bytes of the sub-format GUID
      }
      fmt = { tag, channels, rate, blockAlign, bits };
    } else if (id === 'data') {
      dataStart = body;
      dataSize = Math.min(chunkSize, size - body);
      break;
    }
    at = body + chunkSize + (chunkSize % 2);
  }
  if (fmt === undefined) {
    throw invalidInput(
      dataStart < 0
        ? 'truncated or malformed WAV header: no "fmt " chunk found.'
        : 'malformed WAV: the "data" chunk comes before any "fmt " chunk.',
    );
  }
  if (dataStart < 0) throw invalidInput('truncated WAV file: no "data" chunk found.');
  const encoding = encodingOf(fmt.tag, fmt.bits);
  if (encoding === undefined) {
    throw invalidInput(`unsupported WAV sample format: ${fmt.bits}-bit ${describeFormat(fmt.tag)}; ${SUPPORTED}.`);
  }
  if (fmt.channels < 1) throw invalidInput('invalid WAV header: 0 channels; expected at least 1.');
  if (fmt.rate < 1) throw invalidInput('invalid WAV header: sample rate 0 Hz; expected a positive rate.');
  const bytesPerSample = fmt.bits / 8;
  const frameBytes = fmt.channels * bytesPerSample;
  // A blockAlign that disagrees with the format is a broken header: trusting it read 2 610 of 83 520 samples of one
  // file (issue #13), so it is refused rather than guessed around.
  if (fmt.blockAlign !== frameBytes) {
    throw invalidInput(
      `inconsistent WAV header: blockAlign is ${fmt.blockAlign} bytes but ${fmt.channels} channel(s) of ${fmt.bits}-bit ` +
        `samples make ${frameBytes}-byte frames; blockAlign must equal channels × bits / 8.`,
    );
  }
  const numFrames = Math.floor(dataSize / frameBytes);
  if (numFrames === 0) throw invalidInput('empty WAV: the data chunk holds no complete sample frame.');
  const samples = new Float32Array(numFrames);
  const channels = fmt.channels;
  for (let f = 0; f < numFrames; f++) {
    let sum = 0;
    let p = dataStart + f * frameBytes;
    for (let c = 0; c < channels; c++, p += bytesPerSample) {
      const v = readSample(view, p, encoding);
      // only float encodings can hold these; integer PCM is bounded by construction
      if (!(Math.abs(v) <= MAX_FLOAT_MAGNITUDE)) {
        throw invalidInput(
          `invalid WAV sample ${v} at frame ${f}, channel ${c}: float samples must be finite and within ` +
            `±${MAX_FLOAT_MAGNITUDE} (full scale is ±1).`,
        );
      }
      sum += v;
    }
    samples[f] = channels === 1 ? sum : sum / channels;
  }
  return { sampleRate: fmt.rate, numChannels: channels, encoding, numFrames, samples };
}

function readSample(view: DataView, p: number, encoding: WavEncoding): number {
  switch (encoding) {
    case 'pcm8':
      return (view.getUint8(p) - 128) / 128;
    case 'pcm16':
      return view.getInt16(p, true) / 32768;
    case 'pcm24': {
      const v = view.getUint8(p) | (view.getUint8(p + 1) << 8) | (view.getInt8(p + 2) << 16);
      return v / 8388608;
    }
    case 'pcm32':
      return view.getInt32(p, true) / 2147483648;
    case 'float32':
      return view.getFloat32(p, true);
    case 'float64':
      return view.getFloat64(p, true);
  }
}

/** Options of {@link encodeWav}. */
export interface EncodeWavOptions {
  /**
   * Sample encoding.
   * @defaultValue 'pcm16'
   */
  readonly encoding?: WavEncoding;
  /**
   * Channels interleaved in `samples` (frame-major: L R L R …).
   * @defaultValue 1
   */
  readonly numChannels?: number;
}

const BITS: Readonly<Record<WavEncoding, number>> = {
  pcm8: 8,
  pcm16: 16,
  pcm24: 24,
  pcm32: 32,
  float32: 32,
  float64: 64,
};

function quantize(x: number, bits: number): number {
  const full = 2 ** (bits - 1);
  if (Number.isNaN(x)) return 0;
  return Math.min(full - 1, Math.max(-full, Math.round(x * full)));
}

/**
 * Writes float samples as a WAV file. Integer encodings scale by 2^(bits−1), round to nearest and clip to the
 * integer range, so decode → encode reproduces integer files bit for bit; float encodings store values unchanged.
 *
 * @param samples - samples in [−1, 1], interleaved when `numChannels` > 1
 * @param sampleRate - samples per second (positive integer)
 * @param options - encoding (default 'pcm16') and numChannels (default 1)
 * @returns the complete file bytes (44-byte header for integer PCM; 58 bytes with a `fact` chunk for float)
 * @throws {Error} `ERR_INVALID_INPUT` for an invalid rate, channel count or encoding
 * @example
 * ```ts
 * const bytes = encodeWav(pcm, 24000); // 16-bit PCM
 * const blob = new Blob([bytes], { type: 'audio/wav' });
 * ```
 */
export function encodeWav(
  samples: ArrayLike<number>,
  sampleRate: number,
  options: EncodeWavOptions = {},
): Uint8Array<ArrayBuffer> {
  const encoding = options.encoding ?? 'pcm16';
  const numChannels = options.numChannels ?? 1;
  const bits = (BITS as Partial<Record<string, number>>)[encoding];
  if (bits === undefined) {
    throw invalidInput(
      `unsupported WAV encoding ${JSON.stringify(encoding)}; expected one of ${Object.keys(BITS).join(', ')}.`,
    );
  }
  if (!Number.isSafeInteger(sampleRate) || sampleRate < 1 || sampleRate > 0xffffffff) {
    throw invalidInput(`sampleRate must be a positive integer number of Hz (got ${String(sampleRate)}).`);
  }
  if (!Number.isSafeInteger(numChannels) || numChannels < 1 || numChannels > 0xffff) {
    throw invalidInput(`numChannels must be an integer in [1, 65535] (got ${String(numChannels)}).`);
  }
  if (samples.length % numChannels !== 0) {
    throw invalidInput(
      `${samples.length} interleaved samples are not a whole number of ${numChannels}-channel frames.`,
    );
  }
  const isFloat = encoding === 'float32' || encoding === 'float64';
  const bytesPerSample = bits / 8;
  const dataSize = samples.length * bytesPerSample;
  const fmtSize = isFloat ? 18 : 16;
  const factSize = isFloat ? 12 : 0;
  const headerSize = 12 + 8 + fmtSize + factSize + 8;
  const pad = dataSize % 2;
  const riffSize = headerSize - 8 + dataSize + pad;
  if (riffSize > 0xffffffff) throw invalidInput('audio too long for a WAV file (RIFF size limit is 4 GiB).');
  const bytes = new Uint8Array(headerSize + dataSize + pad);
  const view = new DataView(bytes.buffer);
  const ascii = (at: number, text: string): void => {
    for (let i = 0; i < 4; i++) view.setUint8(at + i, text.charCodeAt(i));
  };
  ascii(0, 'RIFF');
  view.setUint32(4, riffSize, true);
  ascii(8, 'WAVE');
  ascii(12, 'fmt ');
  view.setUint32(16, fmtSize, true);
  view.setUint16(20, isFloat ? FORMAT_FLOAT : FORMAT_PCM, true);
  view.setUint16(22, numChannels, true);
  view.setUint32(24, sampleRate, true);
  view.setUint32(28, sampleRate * numChannels * bytesPerSample, true);
  view.setUint16(32, numChannels * bytesPerSample, true);
  view.setUint16(34, bits, true);
  let at = 36;
  if (isFloat) {
    view.setUint16(at, 0, true); // cbSize
    at += 2;
    ascii(at, 'fact');
    view.setUint32(at + 4, 4, true);
    view.setUint32(at + 8, samples.length / numChannels, true);
    at += 12;
  }
  ascii(at, 'data');
  view.setUint32(at + 4, dataSize, true);
  at += 8;
  for (let i = 0; i < samples.length; i++, at += bytesPerSample) {
    const x = samples[i] ?? 0;
    switch (encoding) {
      case 'pcm8':
        view.setUint8(at, quantize(x, 8) + 128);
        break;
      case 'pcm16':
        view.setInt16(at, quantize(x, 16), true);
        break;
      case 'pcm24': {
        const v = quantize(x, 24);
        view.setUint8(at, v & 0xff);
        view.setUint8(at + 1, (v >> 8) & 0xff);
        view.setUint8(at + 2, (v >> 16) & 0xff);
        break;
      }
      case 'pcm32':
        view.setInt32(at, quantize(x, 32), true);
        break;
      case 'float32':
        view.setFloat32(at, x, true);
        break;
      case 'float64':
        view.setFloat64(at, x, true);
        break;
    }
  }
  return bytes;
}
