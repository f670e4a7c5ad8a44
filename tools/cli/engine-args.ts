/** Options shared by the `synth` and `voice` commands: model directory, device/dtype, prompt audio. */
import { readFile } from 'node:fs/promises';
import { decodeWav } from '../../src/dsp/index.ts';
import { Engine } from '../../src/engine/engine.ts';
import { TTSError } from '../../src/errors.ts';
import type { VoiceProfile } from '../../src/models/voice/voice-profile.ts';
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

/** Loads the engine on wasm (Node has no WebGPU); `--dtype` picks the package variant. */
export async function openEngine(args: EngineArgs): Promise<Engine> {
  if (args.model === undefined) throw new UsageError('--model <dir> is required (a model package directory).');
  if (args.device !== undefined && args.device !== 'wasm' && args.device !== 'auto') {
    throw new UsageError(`--device must be wasm or auto under Node (got "${args.device}"); WebGPU needs a browser.`);
  }
  const pkg = await openModelDir(args.model);
  return Engine.create(pkg, await loadOrt('wasm'), {
    device: (args.device ?? 'auto') as DeviceRequest,
    dtype: (args.dtype ?? 'auto') as DtypeRequest,
  });
}

/** The voice: a saved voice file (`--voice`) or a prompt recording (`--prompt`, optional `--prompt-text`). */
export async function resolveVoice(
  engine: Engine,
  args: {
    readonly prompt?: string | undefined;
    readonly 'prompt-text'?: string | undefined;
    readonly voice?: string | undefined;
  },
): Promise<VoiceProfile> {
  if (args.voice !== undefined && args.prompt !== undefined) {
    throw new UsageError('give either --voice <voice.bin> or --prompt <prompt.wav>, not both.');
  }
  if (args.voice !== undefined) return engine.loadVoice(new Uint8Array(await readFile(args.voice)));
  if (args.prompt === undefined) throw new UsageError('--prompt <prompt.wav> (or --voice <voice.bin>) is required.');
  const wav = decodeWav(new Uint8Array(await readFile(args.prompt)));
  return engine.cloneVoice(
    { samples: wav.samples, sampleRate: wav.sampleRate },
    args['prompt-text'] === undefined ? {} : { transcript: args['prompt-text'] },
  );
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
