/**
 * A cloned voice ("voice pack", spec §3.6): everything the engine needs from a prompt recording, computed once by
 * the cloning front-end and reused without the speech tokenizer or CAM++ — prompt transcript ids, the L prompt
 * speech tokens, the 2L×80 prompt mel and the 192-d x-vector — plus the model dimensions it was made for.
 *
 * The binary form ({@link serializeVoice} / {@link deserializeVoice}) is a small versioned little-endian file with
 * a CRC-32, so a voice can be stored (IndexedDB, OPFS, a download) and rejected clearly when it is corrupted, cut
 * short or made for another model.
 *
 * Voice file format, version 1 (all integers little-endian, offsets in bytes):
 *
 * | offset | type | field |
 * |---|---|---|
 * | 0 | 4 × u8 | magic `CVVP` (0x43 0x56 0x56 0x50) |
 * | 4 | u16 | format version (1) |
 * | 6 | u16 | flags: bit 0 = `createdAt` present; other bits 0 |
 * | 8 | u32 | total file length in bytes (including the checksum) |
 * | 12 | u32 | sample rate of the prompt mel (Hz) |
 * | 16 | u32 | speech vocabulary size V |
 * | 20 | u32 | text vocabulary size |
 * | 24 | u16 | mel bins (80) |
 * | 26 | u16 | speaker-embedding size (192) |
 * | 28 | u16 | mel frames per speech token (2) |
 * | 30 | u16 | model id length in UTF-8 bytes (M) |
 * | 32 | u32 | prompt text id count (K) |
 * | 36 | u32 | prompt speech token count (L) |
 * | 40 | u32 | prompt mel frames (= ratio · L) |
 * | 44 | f64 | `createdAt`, ms since the Unix epoch (0 when absent) |
 * | 52 | M × u8 | model id (UTF-8), zero-padded to a multiple of 4 |
 * | … | K × i32 | prompt text ids |
 * | … | L × i32 | prompt speech tokens |
 * | … | frames × bins × f32 | prompt mel, time-major |
 * | … | dim × f32 | speaker embedding |
 * | end − 4 | u32 | CRC-32 (IEEE 802.3, as zip/PNG) of every preceding byte |
 */

import { invalidInput, TTSError } from '../../errors.ts';
import { checkIds } from '../../runtime/tensors.ts';
import type { ModelPackage } from '../../runtime/model-package.ts';

/** The model dimensions a voice was made for (a voice only fits models with the same values). */
export interface VoiceModelInfo {
  /** `modelId` of the model package that produced the voice. */
  readonly modelId: string;
  /** Speech vocabulary size V: prompt tokens are in [0, V). */
  readonly speechTokenSize: number;
  /** Text vocabulary size: prompt text ids are in [0, textVocabSize). */
  readonly textVocabSize: number;
  /** Mel bins per prompt-mel frame (80). */
  readonly melBins: number;
  /** Speaker-embedding size (192, CAM++). */
  readonly embeddingDim: number;
  /** Mel frames per speech token (2): the prompt mel has `tokenMelRatio · L` frames. */
  readonly tokenMelRatio: number;
}

/**
 * A cloned voice (spec §3.6).
 *
 * Zero-shot synthesis feeds `promptTextIds ⊕ text` and `promptTokens` to the LM; cross-lingual and instruct2 use
 * only the flow part (`promptTokens`, `promptFeat`, `embedding`). An empty `promptTextIds` (no transcript) means the
 * voice is meant for cross-lingual synthesis.
 */
export interface VoiceProfile {
  /** Qwen text ids of the prompt transcript (no BOS); empty when no transcript was given. */
  readonly promptTextIds: Int32Array;
  /** The L prompt speech tokens, after the 2:1 alignment with the prompt mel (§3.5). */
  readonly promptTokens: Int32Array;
  /** Prompt mel, time-major `[tokenMelRatio·L][melBins]` (the flow's `prompt_feat`). */
  readonly promptFeat: Float32Array;
  /** CAM++ x-vector (`embeddingDim` values, not normalised). */
  readonly embedding: Float32Array;
  /** The model dimensions the voice was made for. */
  readonly model: VoiceModelInfo;
  /** Sample rate of the prompt mel in Hz (the model's output rate, 24000). */
  readonly sampleRate: number;
  /** Creation time, ms since the Unix epoch. */
  readonly createdAt?: number;
}

/** The manifest a {@link ModelPackage} carries. */
type PackageManifest = ModelPackage['manifest'];

/**
 * The {@link VoiceModelInfo} of a model package (what voices made or used with it must match).
 *
 * @param manifest - `ModelPackage.manifest`
 */
export function voiceModelInfo(manifest: PackageManifest): VoiceModelInfo {
  const c = manifest.config;
  return {
    modelId: manifest.modelId,
    speechTokenSize: c.llm.speechTokenSize,
    textVocabSize: c.llm.textVocabSize,
    melBins: c.melBins,
    embeddingDim: c.flow.spkEmbedDim,
    tokenMelRatio: c.tokenMelRatio,
  };
}

/**
 * The LM prompt of a voice as plain id lists: the `promptTextIds` / `promptSpeechIds` of a zero-shot `LmRequest`
 * or of a bistream prompt.
 *
 * @example
 * ```ts
 * const tokens = await lm.generate({ mode: 'zero-shot', textIds, ...voiceLmPrompt(voice) }, { seed: 1 });
 * ```
 */
export function voiceLmPrompt(voice: VoiceProfile): {
  readonly promptTextIds: number[];
  readonly promptSpeechIds: number[];
} {
  return { promptTextIds: Array.from(voice.promptTextIds), promptSpeechIds: Array.from(voice.promptTokens) };
}

/** Model dimensions to check when reading a voice; every given field must match. */
export type VoiceExpectation = Partial<VoiceModelInfo> & {
  /** Required prompt-mel sample rate. */
  readonly sampleRate?: number;
};

/**
 * What a voice must match to be used with a model package: its dimensions and prompt-mel sample rate, and its
 * `modelId` only when `matchModelId` is set (another export of the same model accepts the same voices).
 *
 * @example
 * ```ts
 * const voice = deserializeVoice(bytes, { expect: voiceExpectation(pkg.manifest) });
 * ```
 */
export function voiceExpectation(
  manifest: PackageManifest,
  options: { readonly matchModelId?: boolean } = {},
): VoiceExpectation {
  const { modelId, ...dims } = voiceModelInfo(manifest);
  return { ...dims, sampleRate: manifest.config.sampleRate, ...(options.matchModelId === true ? { modelId } : {}) };
}

/** Options of {@link deserializeVoice}. */
export interface DeserializeVoiceOptions {
  /**
   * Dimensions the voice must have been made for, usually {@link voiceExpectation}`(pkg.manifest)`. Only the given
   * fields are checked.
   */
  readonly expect?: VoiceExpectation;
}

/** Magic bytes `CVVP` at the start of every voice file. */
export const VOICE_MAGIC = Uint8Array.of(0x43, 0x56, 0x56, 0x50);
/** The voice file format version this library writes (and the newest it reads). */
export const VOICE_FORMAT_VERSION = 1;

const HEADER_BYTES = 52;
const CHECKSUM_BYTES = 4;
const FLAG_CREATED_AT = 1;

/**
 * Checks that a profile is internally consistent: sizes agree with its model info, ids are in range, floats are
 * finite.
 *
 * @throws {TTSError} ERR_INVALID_INPUT naming the first inconsistency.
 */
export function validateVoiceProfile(voice: VoiceProfile): void {
  const m = voice.model;
  const positiveInt = (name: string, v: number, max: number): void => {
    if (!Number.isInteger(v) || v < 1 || v > max) {
      throw invalidInput(`Voice ${name} must be an integer in [1, ${max}], got ${v}.`, { field: name });
    }
  };
  positiveInt('model.speechTokenSize', m.speechTokenSize, 0x7fffffff);
  positiveInt('model.textVocabSize', m.textVocabSize, 0x7fffffff);
  positiveInt('model.melBins', m.melBins, 0xffff);
  positiveInt('model.embeddingDim', m.embeddingDim, 0xffff);
  positiveInt('model.tokenMelRatio', m.tokenMelRatio, 0xffff);
  positiveInt('sampleRate', voice.sampleRate, 0xffffffff);
  if (typeof m.modelId !== 'string' || m.modelId.length === 0) {
    throw invalidInput('Voice model.modelId must be a non-empty string.', { field: 'model.modelId' });
  }
  if (new TextEncoder().encode(m.modelId).length > 0xffff) {
    throw invalidInput('Voice model.modelId is longer than 65535 UTF-8 bytes.', { field: 'model.modelId' });
  }
  if (voice.createdAt !== undefined && !Number.isFinite(voice.createdAt)) {
    throw invalidInput(`Voice createdAt must be a finite number of ms, got ${voice.createdAt}.`, {
      field: 'createdAt',
    });
  }
  checkIds(voice.promptTextIds, 'voice.promptTextIds', m.textVocabSize);
  checkIds(voice.promptTokens, 'voice.promptTokens', m.speechTokenSize);
  const frames = m.tokenMelRatio * voice.promptTokens.length;
  if (voice.promptFeat.length !== frames * m.melBins) {
    throw invalidInput(
      `Voice promptFeat has ${voice.promptFeat.length} values; expected ${m.tokenMelRatio}·${voice.promptTokens.length} frames × ${m.melBins} bins = ${frames * m.melBins}.`,
      { field: 'promptFeat' },
    );
  }
  if (voice.embedding.length !== m.embeddingDim) {
    throw invalidInput(`Voice embedding has ${voice.embedding.length} values; expected ${m.embeddingDim}.`, {
      field: 'embedding',
    });
  }
  checkFinite(voice.promptFeat, 'promptFeat');
  checkFinite(voice.embedding, 'embedding');
}

/**
 * Checks that a voice fits a model (every field of `expect` must match).
 *
 * @throws {TTSError} ERR_INVALID_INPUT listing every mismatch.
 */
export function checkVoiceCompatible(voice: VoiceProfile, expect: VoiceExpectation): void {
  const actual: Record<string, string | number> = { ...voice.model, sampleRate: voice.sampleRate };
  const mismatches: string[] = [];
  for (const [key, want] of Object.entries(expect) as [string, string | number | undefined][]) {
    if (want === undefined) continue;
    if (actual[key] !== want)
      mismatches.push(`${key} ${JSON.stringify(actual[key])} (expected ${JSON.stringify(want)})`);
  }
  if (mismatches.length > 0) {
    throw invalidInput(`This voice was made for another model: ${mismatches.join(', ')}.`, {
      reason: 'model-mismatch',
      mismatches,
    });
  }
}

/**
 * Serialises a voice to the compact binary format described in the module comment (version 1).
 *
 * @returns the file bytes (about 4·(K + L + 2L·80 + 192) + 60 bytes: 56 KB for a 3.5 s prompt)
 * @throws {TTSError} ERR_INVALID_INPUT when the profile is inconsistent ({@link validateVoiceProfile}).
 * @example
 * ```ts
 * const bytes = serializeVoice(await cloner.clone(audio, { transcriptIds }));
 * const again = deserializeVoice(bytes, { expect: voiceModelInfo(pkg.manifest) });
 * ```
 */
export function serializeVoice(voice: VoiceProfile): Uint8Array<ArrayBuffer> {
  validateVoiceProfile(voice);
  const m = voice.model;
  const id = new TextEncoder().encode(m.modelId);
  const idPadded = align4(id.length);
  const frames = m.tokenMelRatio * voice.promptTokens.length;
  const total =
    HEADER_BYTES +
    idPadded +
    4 * (voice.promptTextIds.length + voice.promptTokens.length + voice.promptFeat.length + voice.embedding.length) +
    CHECKSUM_BYTES;
  const bytes = new Uint8Array(total);
  const view = new DataView(bytes.buffer);
  bytes.set(VOICE_MAGIC, 0);
  view.setUint16(4, VOICE_FORMAT_VERSION, true);
  view.setUint16(6, voice.createdAt === undefined ? 0 : FLAG_CREATED_AT, true);
  view.setUint32(8, total, true);
  view.setUint32(12, voice.sampleRate, true);
  view.setUint32(16, m.speechTokenSize, true);
  view.setUint32(20, m.textVocabSize, true);
  view.setUint16(24, m.melBins, true);
  view.setUint16(26, m.embeddingDim, true);
  view.setUint16(28, m.tokenMelRatio, true);
  view.setUint16(30, id.length, true);
  view.setUint32(32, voice.promptTextIds.length, true);
  view.setUint32(36, voice.promptTokens.length, true);
  view.setUint32(40, frames, true);
  view.setFloat64(44, voice.createdAt ?? 0, true);
  bytes.set(id, HEADER_BYTES);
  let at = HEADER_BYTES + idPadded;
  for (const v of voice.promptTextIds) at = putI32(view, at, v);
  for (const v of voice.promptTokens) at = putI32(view, at, v);
  for (const v of voice.promptFeat) at = putF32(view, at, v);
  for (const v of voice.embedding) at = putF32(view, at, v);
  view.setUint32(at, crc32(bytes.subarray(0, at)), true);
  return bytes;
}

/**
 * Reads a voice written by {@link serializeVoice}; the result serialises back to the same bytes.
 *
 * @param bytes - the file content
 * @param options - `expect`: model dimensions the voice must match
 * @throws {TTSError} ERR_INVALID_INPUT with `details.reason` one of `'magic'` (not a voice file), `'version'` (a
 *   newer or unknown format version), `'truncated'` (shorter or longer than its header says), `'checksum'`
 *   (corrupted), `'format'` (inconsistent content) or `'model-mismatch'` (made for another model).
 */
export function deserializeVoice(bytes: Uint8Array, options: DeserializeVoiceOptions = {}): VoiceProfile {
  if (bytes.length < 8 || !VOICE_MAGIC.every((b, i) => bytes[i] === b)) {
    throw voiceError('magic', 'Not a cosyvoice-web voice file (the magic bytes "CVVP" are missing).');
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const version = view.getUint16(4, true);
  if (version !== VOICE_FORMAT_VERSION) {
    throw voiceError(
      'version',
      version > VOICE_FORMAT_VERSION
        ? `Voice file format version ${version} is newer than this library reads (${VOICE_FORMAT_VERSION}); update cosyvoice-web.`
        : `Unknown voice file format version ${version}; this library reads version ${VOICE_FORMAT_VERSION}.`,
      { version },
    );
  }
  if (bytes.length < HEADER_BYTES + CHECKSUM_BYTES) {
    throw voiceError(
      'truncated',
      `Voice file is truncated: ${bytes.length} bytes, the header alone needs ${HEADER_BYTES + CHECKSUM_BYTES}.`,
    );
  }
  const total = view.getUint32(8, true);
  if (total !== bytes.length) {
    throw voiceError(
      'truncated',
      total > bytes.length
        ? `Voice file is truncated: ${bytes.length} of ${total} bytes.`
        : `Voice file has ${bytes.length - total} unexpected trailing bytes (expected ${total} bytes).`,
      { bytes: bytes.length, expected: total },
    );
  }
  const stored = view.getUint32(total - CHECKSUM_BYTES, true);
  const actual = crc32(bytes.subarray(0, total - CHECKSUM_BYTES));
  if (stored !== actual) {
    throw voiceError('checksum', 'Voice file is corrupted (CRC-32 mismatch).', {
      stored: hex32(stored),
      computed: hex32(actual),
    });
  }
  const flags = view.getUint16(6, true);
  if ((flags & ~FLAG_CREATED_AT) !== 0)
    throw voiceError('format', `Voice file has unknown flags 0x${flags.toString(16)}.`);
  const sampleRate = view.getUint32(12, true);
  const speechTokenSize = view.getUint32(16, true);
  const textVocabSize = view.getUint32(20, true);
  const melBins = view.getUint16(24, true);
  const embeddingDim = view.getUint16(26, true);
  const tokenMelRatio = view.getUint16(28, true);
  const idLength = view.getUint16(30, true);
  const textCount = view.getUint32(32, true);
  const tokenCount = view.getUint32(36, true);
  const frames = view.getUint32(40, true);
  const createdAt = view.getFloat64(44, true);
  if (frames !== tokenMelRatio * tokenCount) {
    throw voiceError(
      'format',
      `Voice file has ${frames} mel frames for ${tokenCount} tokens (ratio ${tokenMelRatio}).`,
    );
  }
  const idPadded = align4(idLength);
  const expected =
    HEADER_BYTES + idPadded + 4 * (textCount + tokenCount + frames * melBins + embeddingDim) + CHECKSUM_BYTES;
  if (expected !== total) {
    throw voiceError(
      'format',
      `Voice file sizes are inconsistent: the counts need ${expected} bytes, the file has ${total}.`,
    );
  }
  for (let i = HEADER_BYTES + idLength; i < HEADER_BYTES + idPadded; i++) {
    if (bytes[i] !== 0) throw voiceError('format', 'Voice file has non-zero padding after the model id.');
  }
  let modelId: string;
  try {
    modelId = new TextDecoder('utf-8', { fatal: true }).decode(bytes.subarray(HEADER_BYTES, HEADER_BYTES + idLength));
  } catch (cause) {
    throw voiceError('format', 'Voice file model id is not valid UTF-8.', { cause: String(cause) });
  }
  let at = HEADER_BYTES + idPadded;
  const promptTextIds = new Int32Array(textCount);
  for (let i = 0; i < textCount; i++, at += 4) promptTextIds[i] = view.getInt32(at, true);
  const promptTokens = new Int32Array(tokenCount);
  for (let i = 0; i < tokenCount; i++, at += 4) promptTokens[i] = view.getInt32(at, true);
  const promptFeat = new Float32Array(frames * melBins);
  for (let i = 0; i < promptFeat.length; i++, at += 4) promptFeat[i] = view.getFloat32(at, true);
  const embedding = new Float32Array(embeddingDim);
  for (let i = 0; i < embeddingDim; i++, at += 4) embedding[i] = view.getFloat32(at, true);
  const voice: VoiceProfile = {
    promptTextIds,
    promptTokens,
    promptFeat,
    embedding,
    model: { modelId, speechTokenSize, textVocabSize, melBins, embeddingDim, tokenMelRatio },
    sampleRate,
    ...((flags & FLAG_CREATED_AT) !== 0 ? { createdAt } : {}),
  };
  try {
    validateVoiceProfile(voice);
  } catch (cause) {
    throw voiceError(
      'format',
      `Voice file content is invalid: ${cause instanceof Error ? cause.message : String(cause)}`,
    );
  }
  if (options.expect !== undefined) checkVoiceCompatible(voice, options.expect);
  return voice;
}

/** CRC-32 (IEEE 802.3, reflected, polynomial 0xEDB88320) of `data`, as an unsigned 32-bit integer. */
export function crc32(data: Uint8Array): number {
  const table = crcTable();
  let crc = 0xffffffff;
  for (const byte of data) crc = (table[(crc ^ byte) & 0xff] ?? 0) ^ (crc >>> 8);
  return (crc ^ 0xffffffff) >>> 0;
}

let CRC_TABLE: Uint32Array | undefined;

function crcTable(): Uint32Array {
  if (CRC_TABLE !== undefined) return CRC_TABLE;
  const table = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = (c & 1) !== 0 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    table[n] = c >>> 0;
  }
  CRC_TABLE = table;
  return table;
}

function align4(n: number): number {
  return (n + 3) & ~3;
}

function putI32(view: DataView, at: number, v: number): number {
  view.setInt32(at, v, true);
  return at + 4;
}

function putF32(view: DataView, at: number, v: number): number {
  view.setFloat32(at, v, true);
  return at + 4;
}

function hex32(v: number): string {
  return `0x${v.toString(16).padStart(8, '0')}`;
}

function voiceError(reason: string, message: string, details: Record<string, unknown> = {}): TTSError {
  return new TTSError('ERR_INVALID_INPUT', message, { details: { reason, ...details } });
}

function checkFinite(values: Float32Array, name: string): void {
  for (let i = 0; i < values.length; i++) {
    if (!Number.isFinite(values[i])) {
      throw invalidInput(`Voice ${name}[${i}] is not finite (${values[i]}).`, { field: name, index: i });
    }
  }
}
