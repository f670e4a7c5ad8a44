/**
 * Pure audio DSP for CosyVoice 2's front-end and vocoder glue: WAV I/O, torchaudio-equal resampling, Whisper log-mel,
 * Kaldi fbank, Matcha prompt mel, HiFT's 16-point STFT/iSTFT, SineGen2 excitation and the streaming cross-fade.
 *
 * Everything here runs unchanged in Node, workers and the main thread: no DOM, no onnxruntime, no Node APIs; typed
 * arrays in and out. Public entry: `cosyvoice-web/dsp`.
 *
 * @example
 * ```ts
 * import { decodeWav, resample, createResamplePlan, whisperLogMel, createWhisperMelPlan } from 'cosyvoice-web/dsp';
 * const wav = decodeWav(bytes);
 * const audio16k = resample(wav.samples, createResamplePlan(wav.sampleRate, 16000));
 * const feats = whisperLogMel(audio16k, createWhisperMelPlan()); // [128][⌊N/160⌋]
 * ```
 * @module
 */

export type { DspError, DspErrorCode } from './errors.ts';
export { createFftPlan, createRfftPlan, fft, ifft, rfft, irfft, type FftPlan, type RfftPlan } from './fft.ts';
export { hannWindow, hammingWindow, poveyWindow } from './window.ts';
export {
  createStftPlan,
  stft,
  forEachStftFrame,
  padSignal,
  type StftOptions,
  type StftPlan,
  type PadMode,
} from './stft.ts';
export { istft, IstftStream } from './istft.ts';
export {
  melFilterbank,
  hzToMelSlaney,
  melToHzSlaney,
  createWhisperMelPlan,
  whisperLogMel,
  createPromptMelPlan,
  promptMel,
  alignPromptMelToTokens,
  WHISPER_N_FFT,
  WHISPER_HOP_LENGTH,
  WHISPER_SAMPLE_RATE,
  TOKEN_MEL_RATIO,
  type MelFilterbankOptions,
  type WhisperMelPlan,
  type PromptMelOptions,
  type PromptMelPlan,
  type Sliceable,
} from './mel.ts';
export {
  createFbankPlan,
  kaldiFbank,
  subtractFeatureMean,
  speakerFbank,
  FLOAT32_EPSILON,
  type FbankOptions,
  type FbankPlan,
} from './fbank.ts';
export {
  createResamplePlan,
  resample,
  resampleAudio,
  Resampler,
  type ResampleOptions,
  type ResamplePlan,
} from './resample.ts';
export { decodeWav, encodeWav, type WavEncoding, type WavInfo, type DecodedWav, type EncodeWavOptions } from './wav.ts';
export { sineGen2, mergeSource, type SineGenOptions } from './sine-source.ts';
export { HiftCrossfade, HIFT_MEL_CACHE_LEN, HIFT_SOURCE_CACHE_LEN, type HiftCrossfadeOptions } from './crossfade.ts';
