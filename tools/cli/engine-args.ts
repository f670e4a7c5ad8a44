/** Options shared by the `synth` and `voice` commands: model directory, device/dtype, prompt audio. */
import { readFile } from 'node:fs/promises';
import type { DecodedWav } from '../../src/dsp/index.ts';
import { decodeWav } from '../../src/dsp/index.ts';
import { Engine } from '../../src/engine/engine.ts';
import { fromDspError, TTSError } from '../../src/errors.ts';
import type { PromptAudio } from '../../src/models/voice/voice-cloner.ts';
import type { VoiceProfile } from '../../src/models/voice/voice-profile.ts';
import { deserializeVoice, voiceExpectation } from '../../src/models/voice/voice-profile.ts';
import { checkPromptAudio } from '../../src/request/limits.ts';
import { checkRequestVoice } from '../../src/request/voice.ts';
import type { ModelPackage } from '../../src/runtime/model-package.ts';
import type { DeviceRequest, DtypeRequest } from '../../src/base/stages.ts';
import { loadOrt } from '../../src/runtime/ort.ts';
import { openModelDir } from './node-package.ts';

/** A command-line mistake: printed with the usage text, exit code 2. */
export class UsageError extends Error {}

export const ENGINE_OPTIONS = {
  model: { type: 'string' },
  device: { type: 'string' },
  dtype: { type: 'string' },
  prompt: { type: 'string' },
  'prompt-text': { type: 'string' },
  voice: { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const;

export interface EngineArgs {
  readonly model?: string | undefined;
  readonly device?: string | undefined;
  readonly dtype?: string | undefined;
}

/**
 * Opens the package in `--model` (manifest and file checks) after checking `--model` and `--device`; no session yet.
 */
export async function openPackage(args: EngineArgs): Promise<ModelPackage> {
  if (args.model === undefined) throw new UsageError('--model <dir> is required (a model package directory).');
  if (args.device !== undefined && args.device !== 'wasm' && args.device !== 'auto') {
    throw new UsageError(`--device must be wasm or auto under Node (got "${args.device}"); WebGPU needs a browser.`);
  }
  return openModelDir(args.model);
}

/** Loads the engine on wasm (Node has no WebGPU); `--dtype` picks the package variant. */
export async function openEngine(pkg: ModelPackage, args: EngineArgs): Promise<Engine> {
  return Engine.create(pkg, await loadOrt('wasm'), {
    device: (args.device ?? 'auto') as DeviceRequest,
    dtype: (args.dtype ?? 'auto') as DtypeRequest,
  });
}

/** Where the voice comes from, read and checked before the engine is loaded (which takes seconds to minutes). */
export type VoiceSource =
  | { readonly kind: 'voice-file'; readonly voice: VoiceProfile }
  | { readonly kind: 'prompt'; readonly audio: PromptAudio; readonly transcript: string | undefined };

/**
 * Reads the voice of `--voice` (a saved voice file, checked against the package) or `--prompt` (a WAV recording,
 * decoded and checked against the longest prompt the package can use; optional `--prompt-text`).
 *
 * @throws {UsageError} for a missing or doubled option; {@link TTSError} ERR_INVALID_INPUT for an unreadable file,
 *   an invalid WAV or voice file, or a prompt too long to leave room to speak.
 */
export async function readVoiceSource(
  pkg: ModelPackage,
  args: {
    readonly prompt?: string | undefined;
    readonly 'prompt-text'?: string | undefined;
    readonly voice?: string | undefined;
  },
): Promise<VoiceSource> {
  if (args.voice !== undefined && args.prompt !== undefined) {
    throw new UsageError('give either --voice <voice.bin> or --prompt <prompt.wav>, not both.');
  }
  if (args.voice !== undefined) {
    const bytes = await readInput('--voice', args.voice);
    const voice = deserializeVoice(bytes, { expect: voiceExpectation(pkg.manifest) });
    return { kind: 'voice-file', voice: checkRequestVoice(voice, pkg.manifest, `--voice ${args.voice}`) };
  }
  if (args.prompt === undefined) throw new UsageError('--prompt <prompt.wav> (or --voice <voice.bin>) is required.');
  const bytes = await readInput('--prompt', args.prompt);
  let wav: DecodedWav;
  try {
    wav = decodeWav(bytes);
  } catch (error) {
    throw fromDspError(error);
  }
  checkPromptAudio(wav.samples.length / wav.sampleRate, pkg.manifest.config);
  return {
    kind: 'prompt',
    audio: { samples: wav.samples, sampleRate: wav.sampleRate },
    transcript: args['prompt-text'],
  };
}

/** The voice of `source`: the voice file's, or one cloned from the prompt. */
export async function resolveVoice(engine: Engine, source: VoiceSource): Promise<VoiceProfile> {
  if (source.kind === 'voice-file') return source.voice;
  return engine.cloneVoice(source.audio, source.transcript === undefined ? {} : { transcript: source.transcript });
}

async function readInput(option: string, path: string): Promise<Uint8Array> {
  try {
    return new Uint8Array(await readFile(path));
  } catch (cause) {
    throw new TTSError('ERR_INVALID_INPUT', `${option} ${path}: cannot read the file (${String(cause)}).`, {
      cause,
      details: { path },
    });
  }
}

/** Prints an error and returns the exit code (2 for usage errors, 1 otherwise). */
export function report(command: string, error: unknown, usage: string): number {
  if (error instanceof UsageError) {
    console.error(`${command}: ${error.message}\n\n${usage}`);
    return 2;
  }
  const code = error instanceof TTSError ? ` [${error.code}]` : '';
  console.error(`${command}:${code} ${error instanceof Error ? error.message : String(error)}`);
  return 1;
}
