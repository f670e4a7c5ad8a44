/**
 * Where each stage runs: the device and dtype requests of `Engine.create` / `CosyVoice.create` resolved against what
 * the environment offers and what the package ships. One function for both entry points.
 */
import type { Device, DeviceRequest, Dtype, DtypeRequest, Stage } from '../base/stages.ts';
import { TTSError } from '../errors.ts';
import type { ModelManifest } from '../loader/manifest.ts';
import { stageDtypes } from '../loader/manifest.ts';
import type { DeviceCapabilities } from '../runtime/device.ts';
import { resolveDevice, resolveDtype } from '../runtime/device.ts';

/** A value for every stage, or one value for all. */
export type PerStage<T> = T | Readonly<Partial<Record<Stage, T>>>;

/** Where one stage runs. */
export interface StagePlace {
  readonly device: Device;
  readonly dtype: Dtype;
}

/** Where every stage runs; `voice` only when the package can clone voices. */
export type Placement = Readonly<Record<SynthesisStage, StagePlace>> & { readonly voice?: StagePlace };

/** The synthesis stages (the voice stage is optional and created on demand). */
export type SynthesisStage = Exclude<Stage, 'voice'>;

/** The device and dtype requests of an instance. */
export interface PlacementRequest {
  /** Device per stage or for all. @defaultValue 'auto' */
  readonly device?: PerStage<DeviceRequest>;
  /** Weight format per stage or for all. @defaultValue 'auto' */
  readonly dtype?: PerStage<DtypeRequest>;
}

/** The value for `stage` of a per-stage option. */
export function forStage<T extends string>(value: PerStage<T> | undefined, stage: Stage, fallback: T): T {
  if (value === undefined) return fallback;
  if (typeof value === 'string') return value;
  return (value as Partial<Record<Stage, T>>)[stage] ?? fallback;
}

/** Whether the package ships the cloning graphs (speech tokenizer and CAM++). */
export function canClone(manifest: ModelManifest): boolean {
  return manifest.graphs.speech_tokenizer !== undefined && manifest.graphs.campplus !== undefined;
}

/**
 * Resolves the placement of every stage. `avoidGpu` lists stages whose WebGPU self-test failed before on this
 * adapter: for them `'auto'` means wasm.
 *
 * @throws {TTSError} ERR_INVALID_INPUT / ERR_DEVICE_UNAVAILABLE / ERR_MODEL_FORMAT as `resolveDevice`/`resolveDtype`.
 */
export function resolvePlacement(
  manifest: ModelManifest,
  request: PlacementRequest,
  caps: DeviceCapabilities,
  avoidGpu: ReadonlySet<Stage> = new Set(),
): Placement {
  const place = (stage: Stage): StagePlace => {
    const wanted = forStage(request.device, stage, 'auto');
    const device = wanted === 'auto' && avoidGpu.has(stage) ? 'wasm' : resolveDevice(wanted, caps);
    const dtype = resolveDtype(
      stage,
      forStage(request.dtype, stage, 'auto'),
      device,
      stageDtypes(manifest, stage),
      caps,
    );
    return { device, dtype };
  };
  const synthesis = { lm: place('lm'), flow: place('flow'), vocoder: place('vocoder') };
  return canClone(manifest) ? { ...synthesis, voice: place('voice') } : synthesis;
}

/**
 * Where the cloning stage runs.
 *
 * @throws {TTSError} ERR_MODEL_FORMAT when the package cannot clone voices (no speech tokenizer / CAM++).
 */
export function clonePlace(placement: Placement, manifest: ModelManifest): StagePlace {
  if (placement.voice === undefined) {
    throw new TTSError(
      'ERR_MODEL_FORMAT',
      `Model package "${manifest.modelId}" cannot clone voices (it ships no speech_tokenizer / campplus); load a saved voice file instead.`,
    );
  }
  return placement.voice;
}
