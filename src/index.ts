/**
 * cosyvoice-web: CosyVoice 2 speech synthesis in the browser (and in Node through {@link Engine}).
 *
 * Importing this module has no side effects (SSR-safe): workers, audio contexts and onnxruntime are only created by
 * `CosyVoice.create()` / `Engine.create()`.
 *
 * @packageDocumentation
 */
export { CosyVoice } from './cosyvoice.ts';
export { requestPersistentStorage } from './core/storage.ts';
export type { CloneInput } from './core/audio-input.ts';
export type { CloneOptions, CosyVoiceAssets, CosyVoiceOptions, SynthesizedAudio } from './cosyvoice.ts';
export { Engine } from './engine/engine.ts';
export type { CloneVoiceOptions, EngineOptions, SessionReadyEvent } from './engine/engine.ts';
export type { AudioChunk } from './request/chunks.ts';
export type { RequestMetrics } from './request/metrics.ts';
export { MAX_SEED } from './request/options.ts';
export type { RequestOptions, SamplingOptions, StreamingOptions, SynthesisOptions } from './request/options.ts';
export type { ScheduleOptions } from './request/schedule.ts';
export type { PerStage, Placement, StagePlace } from './request/placement.ts';
export type { SegmentResult, SynthesisResult } from './request/result.ts';
export type { TextInput } from './request/text-input.ts';
export { detectCapabilities } from './capabilities.ts';
export type { Capabilities } from './capabilities.ts';
export { TTSError, TTS_ERROR_CODES, isAbortError } from './errors.ts';
export type { TTSErrorCode, ErrorDetails } from './errors.ts';
export type { LoadProgressEvent, RuntimeEvent } from './events.ts';
export { AudioPlayer } from './audio/player.ts';
export type { AudioPlayerOptions } from './audio/player.ts';
export type { PlaybackCounters, PlaybackState, PlaybackStatus } from './audio/playback-protocol.ts';
export { deserializeVoice, serializeVoice } from './models/voice/voice-profile.ts';
export type { VoiceProfile } from './models/voice/voice-profile.ts';
export { ModelPackage } from './runtime/model-package.ts';
export type { PackageFiles } from './runtime/model-package.ts';
export { loadOrt } from './runtime/ort.ts';
export { parseManifest } from './loader/manifest.ts';
export type { ModelManifest, ModelConstants } from './loader/manifest.ts';
export type { ModelSource } from './loader/source.ts';
export { resolveBaseUrl } from './loader/source.ts';
export type { Device, DeviceRequest, Dtype, DtypeRequest, Stage } from './base/stages.ts';
export { defaultWorkers } from './core/spawn-worker.ts';
export type { WorkerFactories, WorkerRole } from './core/spawn-worker.ts';
