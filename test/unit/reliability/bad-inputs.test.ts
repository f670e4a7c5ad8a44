/**
 * The bad-input table (issue #13.6, Node half): bad inputs and faults through the public Node API — `Engine`
 * (requests, voices, cloning, its own options), prompt-audio decoding, the package opener and the CLI — each row
 * asserting the stable `TTSError` code (or, for cancellation, the signal's own reason). After each group the same
 * engine instance synthesises the reference request again, and the samples must equal those it made before any bad
 * input. Rows that validation must catch before any model runs (requests, cloning, `Engine.create`) also assert that
 * no graph ran (or no session was made).
 */
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { cp, mkdtemp, readFile, rm, truncate, unlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeAudioInput } from '../../../src/core/audio-input.ts';
import { encodeWav } from '../../../src/dsp/index.ts';
import { Engine } from '../../../src/engine/engine.ts';
import type { TTSErrorCode } from '../../../src/errors.ts';
import { TTSError } from '../../../src/errors.ts';
import type { ManifestFile } from '../../../src/loader/manifest.ts';
import type { VoiceProfile } from '../../../src/models/voice/voice-profile.ts';
import type { ModelPackage } from '../../../src/runtime/model-package.ts';
import { loadOrt } from '../../../src/runtime/ort.ts';
import { openModelDir } from '../../../tools/cli/node-package.ts';
import { collect } from '../../helpers/audio.ts';
import type { OrtSpy, SpiedGraph } from '../../helpers/ort-spy.ts';
import { spyOrt } from '../../helpers/ort-spy.ts';
import { GOLDEN, openPackageDir, ROOT, TINY_PACKAGE } from '../../helpers/package.ts';
import { goldenVoice } from '../../helpers/voice.ts';

const texts = JSON.parse(readFileSync(join(GOLDEN, 'texts.json'), 'utf8')) as Record<string, { text: string }>;
const ZH = texts['zh']?.text ?? '';
const SEED = 7;
/** A few CLI runs in sequence (`npx tsx` start-up and a package open each): a multiple of the global budget. */
const CLI_TIMEOUT_MS = 540_000;

let pkg: ModelPackage;
let spy: OrtSpy;
let engine: Engine;
/**
 * The golden voice. The table's rows are written when the file is collected, before `beforeAll` runs, so they hold
 * this object, which `beforeAll` fills in.
 */
const voice = {} as VoiceProfile;
/** The reference request's samples, made before any bad input. */
let reference: Float32Array;
let scratch: string;

beforeAll(async () => {
  pkg = await openPackageDir(TINY_PACKAGE);
  spy = spyOrt(await loadOrt('wasm'));
  engine = await Engine.create(pkg, spy.ort, { device: 'wasm', dtype: 'fp32' });
  Object.assign(voice, goldenVoice(pkg));
  reference = (await engine.synthesize(ZH, { voice, seed: SEED })).samples;
  scratch = await mkdtemp(join(tmpdir(), 'bad-inputs-'));
});
afterAll(async () => {
  spy.onRun(undefined);
  await engine.dispose();
  await rm(scratch, { recursive: true, force: true });
});

/** The same engine, after the group's bad inputs, speaks the reference request sample for sample. */
function stillSpeaksTheReference(): void {
  it('the same engine then synthesises the reference request, sample for sample', async () => {
    spy.onRun(undefined);
    const again = await engine.synthesize(ZH, { voice, seed: SEED });
    expect(again.samples.length).toBe(reference.length);
    expect(Buffer.from(again.samples.buffer).equals(Buffer.from(reference.buffer))).toBe(true);
  });
}

/** One bad input: its name, the code it must fail with, and how to make the call. */
type Row = readonly [name: string, code: TTSErrorCode, call: () => unknown];

/** What `call` threw or rejected with (`undefined` if it succeeded). */
async function failureOf(call: () => unknown): Promise<unknown> {
  try {
    await call();
  } catch (error) {
    return error;
  }
  return undefined;
}

function table(rows: readonly Row[]): void {
  for (const [name, code, call] of rows) {
    it(`${name} → ${code}`, async () => {
      const error = await failureOf(call);
      expect(error, 'a typed error').toBeInstanceOf(TTSError);
      expect((error as TTSError).code).toBe(code);
      expect((error as TTSError).message.length).toBeGreaterThan(20); // says what was wrong
    });
  }
}

/** Runs `call`, which must fail before any graph runs (the failure is rethrown for the row to check). */
async function beforeAnyGraph(call: () => unknown): Promise<void> {
  const runs = spy.runs.length;
  try {
    await call();
  } finally {
    expect(spy.runs.length, 'graph runs').toBe(runs);
  }
}

const synth = (text: unknown, options: unknown) => () =>
  beforeAnyGraph(() => engine.synthesize(text as string, options as { voice: VoiceProfile }));
const stream = (input: unknown, options: unknown) => () =>
  beforeAnyGraph(() => collect(engine.stream(input as string, options as { voice: VoiceProfile })));

/** The golden voice with some fields replaced. */
const voiceWith = (fields: Record<string, unknown>): unknown => ({ ...voice, ...fields });

describe('request options', () => {
  table([
    ['options: null', 'ERR_INVALID_INPUT', synth(ZH, null)],
    ['options omitted', 'ERR_INVALID_INPUT', synth(ZH, undefined)],
    ['options: an array', 'ERR_INVALID_INPUT', synth(ZH, [voice])],
    ['options: a string', 'ERR_INVALID_INPUT', synth(ZH, 'fast')],
    ["signal: 'yes'", 'ERR_INVALID_INPUT', synth(ZH, { voice, signal: 'yes' })],
    ['signal: {}', 'ERR_INVALID_INPUT', synth(ZH, { voice, signal: {} })],
    ['seed: 2**53 − 1 (seed + 1 would not be exact)', 'ERR_INVALID_INPUT', synth(ZH, { voice, seed: 2 ** 53 - 1 })],
    ['seed: −1', 'ERR_INVALID_INPUT', synth(ZH, { voice, seed: -1 })],
    ['seed: 1.5', 'ERR_INVALID_INPUT', synth(ZH, { voice, seed: 1.5 })],
    ['seed: NaN', 'ERR_INVALID_INPUT', synth(ZH, { voice, seed: Number.NaN })],
    ["seed: '42'", 'ERR_INVALID_INPUT', synth(ZH, { voice, seed: '42' })],
    ['a typo: seeed', 'ERR_INVALID_INPUT', synth(ZH, { voice, seeed: 1 })],
    ['speed: 0', 'ERR_INVALID_INPUT', synth(ZH, { voice, speed: 0 })],
    ['speed 1.5 with stream()', 'ERR_INVALID_INPUT', stream(ZH, { voice, speed: 1.5 })],
    ['flowSteps: 0', 'ERR_INVALID_INPUT', synth(ZH, { voice, flowSteps: 0 })],
    ['flowSteps: 51', 'ERR_INVALID_INPUT', synth(ZH, { voice, flowSteps: 51 })],
    ["sampling.variant: 'best'", 'ERR_INVALID_INPUT', synth(ZH, { voice, sampling: { variant: 'best' } })],
    ["streaming.tokenHop: 'x'", 'ERR_INVALID_INPUT', stream(ZH, { voice, streaming: { tokenHop: 'x' } })],
    ["instruct: ''", 'ERR_INVALID_INPUT', synth(ZH, { voice, instruct: '' })],
    [
      'instruct with <|endofprompt|> in the middle',
      'ERR_INVALID_INPUT',
      synth(ZH, { voice, instruct: 'Speak<|endofprompt|> softly' }),
    ],
    ["crossLingual: 'yes'", 'ERR_INVALID_INPUT', synth(ZH, { voice, crossLingual: 'yes' })],
  ]);

  it('a typo is answered with the option it was meant to be', async () => {
    const error = await failureOf(synth(ZH, { voice, seeed: 1 }));
    expect((error as Error).message).toContain('Did you mean "seed"?');
  });

  stillSpeaksTheReference();
});

describe('voices passed straight to a request', () => {
  /** The golden prompt repeated until it leaves no room to speak in the noise buffer. */
  const tooLongVoice = (): unknown => {
    const { noiseFrames } = pkg.manifest.config.flow;
    const times = Math.ceil(noiseFrames / pkg.manifest.config.tokenMelRatio / voice.promptTokens.length) + 1;
    const tile = <T extends Int32Array | Float32Array>(a: T, make: (n: number) => T): T => {
      const out = make(a.length * times);
      for (let i = 0; i < times; i++) out.set(a, i * a.length);
      return out;
    };
    return voiceWith({
      promptTokens: tile(voice.promptTokens, (n) => new Int32Array(n)),
      promptFeat: tile(voice.promptFeat, (n) => new Float32Array(n)),
    });
  };
  const replaced = <T extends Int32Array | Float32Array>(a: T, at: number, value: number): T => {
    const copy = a.slice() as T;
    copy[at] = value;
    return copy;
  };
  table([
    ['no voice', 'ERR_INVALID_INPUT', synth(ZH, {})],
    ['voice: null', 'ERR_INVALID_INPUT', synth(ZH, { voice: null })],
    [
      'a NaN in the embedding',
      'ERR_INVALID_INPUT',
      () => synth(ZH, { voice: voiceWith({ embedding: replaced(voice.embedding, 3, Number.NaN) }) })(),
    ],
    [
      'an Infinity in promptFeat',
      'ERR_INVALID_INPUT',
      () => synth(ZH, { voice: voiceWith({ promptFeat: replaced(voice.promptFeat, 10, Infinity) }) })(),
    ],
    [
      'promptFeat of half the right length',
      'ERR_INVALID_INPUT',
      () => synth(ZH, { voice: voiceWith({ promptFeat: voice.promptFeat.slice(0, voice.promptFeat.length / 2) }) })(),
    ],
    [
      'a prompt token id = speechTokenSize',
      'ERR_INVALID_INPUT',
      () =>
        synth(ZH, {
          voice: voiceWith({ promptTokens: replaced(voice.promptTokens, 0, pkg.manifest.config.llm.speechTokenSize) }),
        })(),
    ],
    [
      'a negative transcript id',
      'ERR_INVALID_INPUT',
      () => synth(ZH, { voice: voiceWith({ promptTextIds: replaced(voice.promptTextIds, 0, -1) }) })(),
    ],
    [
      'promptTokens as a plain array',
      'ERR_INVALID_INPUT',
      () => synth(ZH, { voice: voiceWith({ promptTokens: Array.from(voice.promptTokens) }) })(),
    ],
    [
      'an embedding of the wrong size',
      'ERR_INVALID_INPUT',
      () => synth(ZH, { voice: voiceWith({ embedding: voice.embedding.slice(1) }) })(),
    ],
    [
      'a voice made for a model of another sample rate',
      'ERR_INVALID_INPUT',
      () => synth(ZH, { voice: voiceWith({ sampleRate: 16000 }) })(),
    ],
    ['a prompt that leaves no room to speak', 'ERR_INVALID_INPUT', () => synth(ZH, { voice: tooLongVoice() })()],
    [
      'loadVoice: bytes that are no voice file',
      'ERR_INVALID_INPUT',
      () => engine.loadVoice(new Uint8Array(100).fill(3)),
    ],
    [
      'loadVoice: a truncated voice file',
      'ERR_INVALID_INPUT',
      () => {
        const bytes = engine.saveVoice(voice);
        return engine.loadVoice(bytes.subarray(0, bytes.length - 9));
      },
    ],
    [
      'loadVoice: a voice file with a flipped byte',
      'ERR_INVALID_INPUT',
      () => {
        const bytes = engine.saveVoice(voice);
        const middle = bytes.length >> 1;
        bytes[middle] = (bytes[middle] ?? 0) ^ 0xff;
        return engine.loadVoice(bytes);
      },
    ],
  ]);
  stillSpeaksTheReference();
});

describe('text', () => {
  /** A text stream (a sync iterable of pieces; async ones take the same path). */
  const pieces = (...items: unknown[]): Iterable<string> => items as string[];
  table([
    ['empty text', 'ERR_INVALID_INPUT', synth('', { voice })],
    ['whitespace only', 'ERR_INVALID_INPUT', synth(' \n\t ', { voice })],
    ['punctuation only', 'ERR_INVALID_INPUT', synth('...!?', { voice })],
    ['Chinese punctuation only', 'ERR_INVALID_INPUT', synth('。，！', { voice })],
    ['control characters only', 'ERR_INVALID_INPUT', synth('\x1b[0m\x00\x07', { voice })],
    ['a number instead of text', 'ERR_INVALID_INPUT', synth(42, { voice })],
    ['null instead of text', 'ERR_INVALID_INPUT', synth(null, { voice })],
    ['<|endofprompt|> typed in the text', 'ERR_INVALID_INPUT', synth(`${ZH}<|endofprompt|>`, { voice })],
    ['more than 20 000 characters', 'ERR_INVALID_INPUT', synth('你'.repeat(20_001), { voice })],
    [
      'a 5000-letter word (longer than the noise buffer allows)',
      'ERR_INVALID_INPUT',
      synth('a'.repeat(5000), { voice }),
    ],
    ['an empty text stream', 'ERR_INVALID_INPUT', stream(pieces(), { voice })],
    ['a text stream of blanks and punctuation', 'ERR_INVALID_INPUT', stream(pieces('', '  ', '...', '!?'), { voice })],
    ['a text stream with a number in it', 'ERR_INVALID_INPUT', stream(pieces('Hello ', 42), { voice })],
    [
      'a text stream with <|endofprompt|>',
      'ERR_INVALID_INPUT',
      stream(pieces('Hello <|endofprompt|> there.'), { voice }),
    ],
    ['instruct with a text stream', 'ERR_INVALID_INPUT', stream(pieces('Hello.'), { voice, instruct: 'Softly.' })],
  ]);
  stillSpeaksTheReference();
});

describe('prompt audio and cloning', () => {
  const SAMPLE_RATE = 24000;
  const tone = (seconds: number, rate = SAMPLE_RATE): Float32Array =>
    Float32Array.from({ length: Math.round(seconds * rate) }, (_, i) => 0.3 * Math.sin(i / 7));
  const goodWav = (): Uint8Array => encodeWav(tone(1), SAMPLE_RATE, { encoding: 'pcm16' });
  const withField = (bytes: Uint8Array, at: number, value: number, size: 2 | 4): Uint8Array => {
    const copy = bytes.slice();
    const view = new DataView(copy.buffer);
    if (size === 2) view.setUint16(at, value, true);
    else view.setUint32(at, value, true);
    return copy;
  };
  /** RIFF/WAVE with only the given chunks. */
  const riff = (...chunks: Uint8Array[]): Uint8Array => {
    const body = chunks.reduce((n, c) => n + c.length, 0);
    const out = new Uint8Array(12 + body);
    out.set(ascii('RIFF'), 0);
    new DataView(out.buffer).setUint32(4, 4 + body, true);
    out.set(ascii('WAVE'), 8);
    let at = 12;
    for (const c of chunks) {
      out.set(c, at);
      at += c.length;
    }
    return out;
  };
  const decode = (bytes: Uint8Array) => () => decodeAudioInput(bytes);
  // canonical 44-byte layout (encodeWav): format tag at 20, channels 22, rate 24, blockAlign 32, bits 34, data size 40
  table([
    ['a WAV header with no chunks', 'ERR_INVALID_INPUT', decode(riff(new Uint8Array(4)))],
    ['a truncated fmt chunk', 'ERR_INVALID_INPUT', decode(goodWav().slice(0, 26))],
    ['no data chunk', 'ERR_INVALID_INPUT', decode(goodWav().slice(0, 36))],
    ['no fmt chunk', 'ERR_INVALID_INPUT', decode(riff(goodWav().slice(36)))],
    ['a blockAlign that lies', 'ERR_INVALID_INPUT', decode(withField(goodWav(), 32, 3, 2))],
    ['zero channels', 'ERR_INVALID_INPUT', decode(withField(goodWav(), 22, 0, 2))],
    ['12-bit samples', 'ERR_INVALID_INPUT', decode(withField(withField(goodWav(), 34, 12, 2), 32, 2, 2))],
    ['ADPCM', 'ERR_INVALID_INPUT', decode(withField(goodWav(), 20, 2, 2))],
    ['a data chunk of 0 bytes', 'ERR_INVALID_INPUT', decode(withField(goodWav().slice(0, 44), 40, 0, 4))],
    [
      'a float sample of 1e30',
      'ERR_INVALID_INPUT',
      () => {
        const bytes = encodeWav(tone(1), SAMPLE_RATE, { encoding: 'float32' });
        new DataView(bytes.buffer).setFloat32(44 + 400, 1e30, true);
        return decodeAudioInput(bytes);
      },
    ],
    ['big-endian RIFX', 'ERR_INVALID_INPUT', decode(new Uint8Array([...ascii('RIFX'), ...goodWav().slice(4)]))],
    ['no bytes at all', 'ERR_INVALID_INPUT', decode(new Uint8Array(0))],
    ['an MP3 (no browser decoder in Node)', 'ERR_INVALID_INPUT', decode(new Uint8Array([...ascii('ID3'), 4, 0, 0, 0]))],
    ['cloneVoice(null)', 'ERR_INVALID_INPUT', () => beforeAnyGraph(() => engine.cloneVoice(null as never))],
    [
      'cloneVoice with options: null',
      'ERR_INVALID_INPUT',
      () => beforeAnyGraph(() => engine.cloneVoice({ samples: tone(2), sampleRate: SAMPLE_RATE }, null as never)),
    ],
    [
      'cloneVoice with a transcript that is a number',
      'ERR_INVALID_INPUT',
      () =>
        beforeAnyGraph(() =>
          engine.cloneVoice({ samples: tone(2), sampleRate: SAMPLE_RATE }, { transcript: 5 as never }),
        ),
    ],
    [
      'cloneVoice with signal: "yes"',
      'ERR_INVALID_INPUT',
      () =>
        beforeAnyGraph(() =>
          engine.cloneVoice({ samples: tone(2), sampleRate: SAMPLE_RATE }, { signal: 'yes' as never }),
        ),
    ],
    [
      'cloneVoice with a typo in an option key',
      'ERR_INVALID_INPUT',
      () =>
        beforeAnyGraph(() =>
          engine.cloneVoice({ samples: tone(2), sampleRate: SAMPLE_RATE }, { transcrpt: 'Hi' } as never),
        ),
    ],
    [
      'cloneVoice at 8 kHz',
      'ERR_INVALID_INPUT',
      () => beforeAnyGraph(() => engine.cloneVoice({ samples: tone(2, 8000), sampleRate: 8000 })),
    ],
    [
      'cloneVoice at a fractional rate',
      'ERR_INVALID_INPUT',
      () => beforeAnyGraph(() => engine.cloneVoice({ samples: tone(2, 22050), sampleRate: 22050.5 })),
    ],
    [
      'cloneVoice with NaN samples',
      'ERR_INVALID_INPUT',
      () => beforeAnyGraph(() => engine.cloneVoice({ samples: tone(2).fill(Number.NaN), sampleRate: SAMPLE_RATE })),
    ],
    [
      'cloneVoice of silence',
      'ERR_INVALID_INPUT',
      () =>
        beforeAnyGraph(() => engine.cloneVoice({ samples: new Float32Array(SAMPLE_RATE), sampleRate: SAMPLE_RATE })),
    ],
    [
      'cloneVoice of 4 ms',
      'ERR_INVALID_INPUT',
      () => beforeAnyGraph(() => engine.cloneVoice({ samples: tone(0.004), sampleRate: SAMPLE_RATE })),
    ],
    [
      'cloneVoice of a prompt too long for any synthesis',
      'ERR_INVALID_INPUT',
      () => beforeAnyGraph(() => engine.cloneVoice({ samples: tone(40), sampleRate: SAMPLE_RATE })),
    ],
    [
      'cloneVoice with <|endofprompt|> in the transcript',
      'ERR_INVALID_INPUT',
      () =>
        beforeAnyGraph(() =>
          engine.cloneVoice({ samples: tone(2), sampleRate: SAMPLE_RATE }, { transcript: 'Hi <|endofprompt|>' }),
        ),
    ],
  ]);

  it('the prompt-length refusal states the longest usable prompt', async () => {
    const error = await failureOf(() => engine.cloneVoice({ samples: tone(40), sampleRate: SAMPLE_RATE }));
    const { noiseFrames, chunkTokens } = pkg.manifest.config.flow;
    const { tokenMelRatio, tokenFrameRate } = pkg.manifest.config;
    const longest = Math.floor((noiseFrames - chunkTokens * tokenMelRatio) / tokenMelRatio) / tokenFrameRate;
    expect((error as Error).message).toContain(`at most ${longest.toFixed(1)} s`);
  });
  stillSpeaksTheReference();
});

describe('engine state and engine options', () => {
  table([
    [
      'a second request while one runs',
      'ERR_INVALID_INPUT',
      async () => {
        const first = engine.synthesize(ZH, { voice, seed: SEED });
        try {
          await engine.synthesize(ZH, { voice, seed: SEED });
        } finally {
          await first;
        }
      },
    ],
    [
      'Engine.create options: null',
      'ERR_INVALID_INPUT',
      () => beforeAnySession(() => Engine.create(pkg, spy.ort, null as never)),
    ],
    [
      'Engine.create with a typo (devcie)',
      'ERR_INVALID_INPUT',
      () => beforeAnySession(() => Engine.create(pkg, spy.ort, { devcie: 'wasm' } as never)),
    ],
    [
      "Engine.create dtype 'int4'",
      'ERR_INVALID_INPUT',
      () => beforeAnySession(() => Engine.create(pkg, spy.ort, { dtype: 'int4' as never })),
    ],
    [
      'Engine.create on WebGPU in Node',
      'ERR_DEVICE_UNAVAILABLE',
      () => beforeAnySession(() => Engine.create(pkg, spy.ort, { device: 'webgpu' })),
    ],
  ]);

  describe('a disposed engine', () => {
    let disposed: Engine;
    beforeAll(async () => {
      disposed = await Engine.create(pkg, spy.ort, { device: 'wasm', dtype: 'fp32' });
      await disposed.dispose();
    });
    table([
      ['synthesize()', 'ERR_DISPOSED', () => disposed.synthesize(ZH, { voice })],
      ['stream()', 'ERR_DISPOSED', () => collect(disposed.stream(ZH, { voice }))],
      [
        'cloneVoice()',
        'ERR_DISPOSED',
        () => disposed.cloneVoice({ samples: new Float32Array(48000), sampleRate: 24000 }),
      ],
    ]);
  });
  stillSpeaksTheReference();
});

/** Runs `call`, which must fail before any session is created (the failure is rethrown for the row to check). */
async function beforeAnySession(call: () => unknown): Promise<void> {
  const sessions = spy.created();
  try {
    await call();
  } finally {
    expect(spy.created(), 'sessions created').toBe(sessions);
  }
}

describe('abort at every stage', () => {
  /** Aborts `controller` when the first run of `graph` starts (after this call). */
  const abortAtFirst = (graph: SpiedGraph, controller: AbortController): void => {
    spy.onRun((run) => {
      if (run.graph !== graph) return;
      spy.onRun(undefined);
      controller.abort();
    });
  };
  const rejectsWithReason = async (controller: AbortController, call: () => Promise<unknown>): Promise<void> => {
    const error = await failureOf(call);
    expect(controller.signal.aborted).toBe(true);
    expect(error).toBe(controller.signal.reason);
    expect((error as Error).name).toBe('AbortError');
  };

  it('an already aborted signal: rejected before any graph runs', async () => {
    const controller = new AbortController();
    controller.abort();
    await beforeAnyGraph(() =>
      rejectsWithReason(controller, () => engine.synthesize(ZH, { voice, signal: controller.signal })),
    );
  });

  it('the text stage: aborted while the text stream is read', async () => {
    const controller = new AbortController();
    function* text(): Generator<string> {
      yield 'Hello there, ';
      controller.abort();
      yield 'and goodbye.';
    }
    await rejectsWithReason(controller, () => collect(engine.stream(text(), { voice, signal: controller.signal })));
  });

  for (const [stage, graph] of [
    ['the LM', 'llm'],
    ['the flow', 'flow_step'],
    ['the vocoder', 'hift_decoder'],
  ] as const) {
    it(`${stage}: aborted at its first graph run`, async () => {
      const controller = new AbortController();
      abortAtFirst(graph, controller);
      await rejectsWithReason(controller, () =>
        engine.synthesize(ZH, { voice, seed: SEED, signal: controller.signal }),
      );
    });
  }

  it('cloning: aborted at its first graph run', async () => {
    const controller = new AbortController();
    abortAtFirst('other', controller);
    const samples = Float32Array.from({ length: 48000 }, (_, i) => 0.3 * Math.sin(i / 7));
    await rejectsWithReason(controller, () =>
      engine.cloneVoice({ samples, sampleRate: 24000 }, { signal: controller.signal }),
    );
  });
  stillSpeaksTheReference();
});

describe('package files (the Node opener, Engine.create)', () => {
  /** A copy of the tiny package, changed by `mutate`. */
  async function brokenCopy(name: string, mutate: (dir: string) => Promise<void>): Promise<string> {
    const dir = join(scratch, name);
    await cp(TINY_PACKAGE, dir, { recursive: true });
    await mutate(dir);
    return dir;
  }
  /** The manifest entry of the first file of `graph` (fp32). */
  const fileOf = (graph: string): ManifestFile => {
    const file = pkg.manifest.files.find((f) => f.path === `${graph}.fp32.onnx`);
    expect(file).toBeDefined();
    return file as ManifestFile;
  };
  /** Replaces a file and updates its manifest entry, so only its content is wrong. */
  const replaceListed = async (dir: string, path: string, bytes: Uint8Array): Promise<void> => {
    await writeFile(join(dir, path), bytes);
    const manifest = JSON.parse(await readFile(join(dir, 'manifest.json'), 'utf8')) as {
      files: Array<{ path: string; bytes: number; sha256: string }>;
    };
    const entry = manifest.files.find((f) => f.path === path);
    expect(entry).toBeDefined();
    Object.assign(entry ?? {}, { bytes: bytes.length, sha256: createHash('sha256').update(bytes).digest('hex') });
    await writeFile(join(dir, 'manifest.json'), JSON.stringify(manifest));
  };
  const create = (dir: string) => async () => {
    const opened = await openModelDir(dir);
    const made = await Engine.create(opened, spy.ort, { device: 'wasm', dtype: 'fp32' });
    await made.dispose();
  };
  const createBeforeAnySession = (dir: () => Promise<string>) => async () => {
    const path = await dir();
    await beforeAnySession(create(path));
  };

  table([
    ['a directory without manifest.json', 'ERR_ASSET_FETCH', () => openModelDir(join(scratch, 'nothing-here'))],
    [
      'a manifest.json that is not JSON (named in the message)',
      'ERR_MODEL_FORMAT',
      async () => {
        const dir = await brokenCopy('bad-json', (d) => writeFile(join(d, 'manifest.json'), '{ "format": '));
        const error = await failureOf(() => openModelDir(dir));
        expect((error as Error).message).toContain(join(dir, 'manifest.json'));
        throw error;
      },
    ],
    [
      'a manifest.json of the wrong shape (named in the message)',
      'ERR_MODEL_FORMAT',
      async () => {
        const dir = await brokenCopy('bad-shape', (d) => writeFile(join(d, 'manifest.json'), '{ "format": 99 }'));
        const error = await failureOf(() => openModelDir(dir));
        expect((error as Error).message).toContain(join(dir, 'manifest.json'));
        throw error;
      },
    ],
    [
      'a truncated vocoder graph: found before any session is made',
      'ERR_ASSET_INTEGRITY',
      createBeforeAnySession(() =>
        brokenCopy('truncated', (d) =>
          truncate(join(d, fileOf('hift_decoder').path), fileOf('hift_decoder').bytes >> 1),
        ),
      ),
    ],
    [
      'a damaged vocoder graph of the right size: found before any session is made',
      'ERR_ASSET_INTEGRITY',
      createBeforeAnySession(() =>
        brokenCopy('damaged', async (d) => {
          const path = join(d, fileOf('hift_decoder').path);
          const bytes = await readFile(path);
          const middle = bytes.length >> 1;
          bytes[middle] = (bytes[middle] ?? 0) ^ 0xff;
          await writeFile(path, bytes);
        }),
      ),
    ],
    [
      'a missing vocoder graph: found before any session is made',
      'ERR_ASSET_FETCH',
      createBeforeAnySession(() => brokenCopy('missing', (d) => unlink(join(d, fileOf('hift_decoder').path)))),
    ],
    [
      'a vocoder graph that is not ONNX (listed with its hash)',
      'ERR_SESSION_CREATE',
      async () =>
        create(
          await brokenCopy('not-onnx', (d) =>
            replaceListed(d, fileOf('hift_decoder').path, new Uint8Array(64).fill(7)),
          ),
        )(),
    ],
    [
      'a tokenizer.json that is not JSON (listed with its hash)',
      'ERR_MODEL_FORMAT',
      async () =>
        create(await brokenCopy('tokenizer', (d) => replaceListed(d, pkg.manifest.tokenizer, ascii('{"model": '))))(),
    ],
    [
      'a CFM noise buffer of the wrong length (listed with its hash)',
      'ERR_MODEL_FORMAT',
      async () => create(await brokenCopy('noise', (d) => replaceListed(d, pkg.manifest.noise, new Uint8Array(400))))(),
    ],
  ]);
  stillSpeaksTheReference();
});

function ascii(text: string): Uint8Array {
  return new TextEncoder().encode(text);
}

describe('the CLI: the code in its message, a non-zero exit', () => {
  const run = promisify(execFile);
  async function cli(...args: string[]): Promise<{ code: number; stderr: string }> {
    try {
      await run('npx', ['tsx', 'tools/cli/main.ts', ...args], { cwd: ROOT });
      return { code: 0, stderr: '' };
    } catch (error) {
      const e = error as { code: number; stderr: string };
      return { code: e.code, stderr: e.stderr };
    }
  }

  it(
    'a bad --prompt is reported before the engine loads; a bad manifest names its file; an out-of-range seed',
    async () => {
      // the package's vocoder graph is damaged too: had the engine loaded first, ERR_ASSET_INTEGRITY would come first
      const dir = join(scratch, 'cli-package');
      await cp(TINY_PACKAGE, dir, { recursive: true });
      const graph = pkg.manifest.files.find((f) => f.path.startsWith('hift_decoder'));
      await truncate(join(dir, graph?.path ?? ''), 100);
      const wav = join(scratch, 'header-only.wav');
      await writeFile(wav, new Uint8Array([...ascii('RIFF'), 4, 0, 0, 0, ...ascii('WAVE'), 0, 0, 0, 0]));
      const out = join(scratch, 'out.wav');

      const badPrompt = await cli('synth', '--model', dir, '--prompt', wav, '--text', 'Hello.', '--out', out);
      expect(badPrompt.code).toBe(1);
      expect(badPrompt.stderr).toContain('[ERR_INVALID_INPUT]');

      const missingPrompt = await cli(
        'synth',
        '--model',
        dir,
        '--prompt',
        join(scratch, 'none.wav'),
        '--text',
        'Hi.',
        '--out',
        out,
      );
      expect(missingPrompt.code).toBe(1);
      expect(missingPrompt.stderr).toContain('[ERR_INVALID_INPUT]');
      expect(missingPrompt.stderr).toContain('none.wav');

      const manifestDir = join(scratch, 'cli-manifest');
      await cp(TINY_PACKAGE, manifestDir, { recursive: true });
      await writeFile(join(manifestDir, 'manifest.json'), '{ "format": ');
      const badManifest = await cli('voice', 'info', '--model', manifestDir, '--voice', wav);
      expect(badManifest.code).toBe(1);
      expect(badManifest.stderr).toContain('[ERR_MODEL_FORMAT]');
      expect(badManifest.stderr).toContain(join(manifestDir, 'manifest.json'));

      const badSeed = await cli(
        'synth',
        '--model',
        TINY_PACKAGE,
        '--prompt',
        wav,
        '--text',
        'Hi.',
        '--seed',
        String(2 ** 53 - 1),
        '--out',
        out,
      );
      expect(badSeed.code).toBe(1);
      expect(badSeed.stderr).toContain('[ERR_INVALID_INPUT]');
      expect(badSeed.stderr).toContain('seed');
    },
    CLI_TIMEOUT_MS,
  );
});
