/**
 * `npm run cli -- synth --model DIR (--prompt prompt.wav [--prompt-text "…"] | --voice voice.bin)
 *   [--instruct "…"] [--cross-lingual] --text "…" [--stream] [--seed N] [--speed X] [--flow-steps N]
 *   [--first-chunk-flow-steps N] [--timeout-ms N] [--format pcm16|float32] --out out.wav`
 *
 * Writes a 24 kHz mono WAV; the same seed (and model, voice, text) gives the same bytes. `--stream` synthesises
 * chunk by chunk as the browser player does and reports the time to the first chunk.
 */
import { writeFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { encodeWav } from '../../src/dsp/index.ts';
import type { RequestMetrics } from '../../src/request/metrics.ts';
import type { SynthesisOptions } from '../../src/request/options.ts';
import { validateRequestOptions } from '../../src/request/options.ts';
import {
  ENGINE_OPTIONS,
  openEngine,
  openPackage,
  readVoiceSource,
  report,
  resolveVoice,
  UsageError,
} from './engine-args.ts';

const USAGE = `usage: npm run cli -- synth --model DIR (--prompt prompt.wav [--prompt-text "…"] | --voice voice.bin)
                          --text "…" --out out.wav [options]

options:
  --instruct "…"     instruct mode (e.g. "用四川话说这句话"; <|endofprompt|> is appended if missing)
  --cross-lingual    ignore the prompt transcript (target language differs from the prompt's)
  --stream           synthesise chunk by chunk (streaming schedule) instead of offline
  --seed N           request seed (default: random, printed)
  --speed X          speed factor 0.5–2 (offline only)
  --flow-steps N     Euler steps of the flow solver, 1–50 (default: the package's, 10); fewer = faster, coarser
  --first-chunk-flow-steps N
                     Euler steps of the first streamed chunk only (with --stream; lower time to first audio)
  --timeout-ms N     abort the request N ms after it starts (exit code 124, nothing written)
  --format F         pcm16 (default) or float32
  --device D         wasm | auto (Node has no WebGPU)
  --dtype T          auto | fp32 | fp16 | int8 | q4 (variants the package ships)`;

function parse(argv: string[]) {
  return parseArgs({
    args: argv,
    options: {
      ...ENGINE_OPTIONS,
      text: { type: 'string' },
      out: { type: 'string' },
      instruct: { type: 'string' },
      'cross-lingual': { type: 'boolean' },
      stream: { type: 'boolean' },
      seed: { type: 'string' },
      speed: { type: 'string' },
      'flow-steps': { type: 'string' },
      'first-chunk-flow-steps': { type: 'string' },
      'timeout-ms': { type: 'string' },
      format: { type: 'string' },
    },
    strict: true,
  }).values;
}

function parseNumber(name: string, value: string | undefined, integer: boolean): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isFinite(n) || (integer && !Number.isSafeInteger(n))) {
    throw new UsageError(`--${name} must be ${integer ? 'an integer' : 'a number'} (got "${value}").`);
  }
  return n;
}

/** Exit code of a request that ran out of time (as coreutils' `timeout`). */
const EXIT_TIMED_OUT = 124;

function describe(m: RequestMetrics, streamed: boolean): string {
  const parts = [
    `${m.audioSeconds.toFixed(2)} s of audio`,
    `${m.tokens} tokens`,
    `seed ${m.seed}`,
    `RTF ${m.rtf.toFixed(2)}`,
    `${m.tokensPerSecond.toFixed(1)} tokens/s`,
    `LM ${m.lmMs.toFixed(0)} ms, flow ${m.flowMs.toFixed(0)} ms, vocoder ${m.vocoderMs.toFixed(0)} ms`,
  ];
  if (streamed) parts.push(`first audio after ${m.ttfaMs.toFixed(0)} ms`);
  return parts.join(', ');
}

export async function run(argv: string[]): Promise<number> {
  let values: ReturnType<typeof parse>;
  try {
    values = parse(argv);
  } catch (error) {
    return report('synth', new UsageError(error instanceof Error ? error.message : String(error)), USAGE);
  }
  if (values.help === true) {
    console.log(USAGE);
    return 0;
  }
  try {
    if (values.text === undefined) throw new UsageError('--text "…" is required.');
    if (values.out === undefined) throw new UsageError('--out <file.wav> is required.');
    const format = values.format ?? 'pcm16';
    if (format !== 'pcm16' && format !== 'float32')
      throw new UsageError(`--format must be pcm16 or float32 (got "${format}").`);
    const seed = parseNumber('seed', values.seed, true);
    const speed = parseNumber('speed', values.speed, false);
    const flowSteps = parseNumber('flow-steps', values['flow-steps'], true);
    const firstChunkFlowSteps = parseNumber('first-chunk-flow-steps', values['first-chunk-flow-steps'], true);
    if (firstChunkFlowSteps !== undefined && values.stream !== true) {
      throw new UsageError('--first-chunk-flow-steps needs --stream.');
    }
    const timeoutMs = parseNumber('timeout-ms', values['timeout-ms'], true);
    if (timeoutMs !== undefined && timeoutMs < 1) {
      throw new UsageError(`--timeout-ms must be a positive number of milliseconds (got "${values['timeout-ms']}").`);
    }
    // the request options are checked before the engine is loaded (seconds to minutes) and the prompt cloned
    const options: SynthesisOptions = {
      ...(seed === undefined ? {} : { seed }),
      ...(speed === undefined ? {} : { speed }),
      ...(flowSteps === undefined ? {} : { flowSteps }),
      ...(firstChunkFlowSteps === undefined ? {} : { streaming: { firstChunkFlowSteps } }),
      ...(values.instruct === undefined ? {} : { instruct: values.instruct }),
      ...(values['cross-lingual'] === true ? { crossLingual: true } : {}),
    };
    validateRequestOptions(options, values.stream === true ? 'stream' : 'offline');
    // so are the package's files and the voice (a bad --prompt is reported before the sessions load)
    const pkg = await openPackage(values);
    const source = await readVoiceSource(pkg, values);
    const engine = await openEngine(pkg, values);
    try {
      const voice = await resolveVoice(engine, source);
      // the request starts here: loading the engine and the voice is not part of the budget
      const signal = timeoutMs === undefined ? undefined : AbortSignal.timeout(timeoutMs);
      const request = { voice, ...options, ...(signal === undefined ? {} : { signal }) };
      let samples: Float32Array;
      let metrics: RequestMetrics;
      try {
        if (values.stream === true) {
          const chunks: Float32Array[] = [];
          const run = engine.stream(values.text, request);
          let step = await run.next();
          for (; step.done !== true; step = await run.next()) chunks.push(step.value.samples);
          metrics = step.value;
          samples = new Float32Array(chunks.reduce((n, c) => n + c.length, 0));
          let offset = 0;
          for (const c of chunks) {
            samples.set(c, offset);
            offset += c.length;
          }
          console.error(`synth: ${chunks.length} streamed chunks`);
        } else {
          const result = await engine.synthesize(values.text, request);
          samples = result.samples;
          metrics = result.metrics;
        }
      } catch (error) {
        if (signal?.aborted !== true || error !== signal.reason) throw error;
        console.error(
          `synth: timed out: the request did not finish within --timeout-ms ${timeoutMs} ms; nothing written.`,
        );
        return EXIT_TIMED_OUT;
      }
      await writeFile(values.out, encodeWav(samples, engine.constants.sampleRate, { encoding: format }));
      console.error(`synth: ${describe(metrics, values.stream === true)}`);
      console.log(`synth: ${values.out} (${samples.length} samples at ${engine.constants.sampleRate} Hz, ${format})`);
      return 0;
    } finally {
      await engine.dispose();
    }
  } catch (error) {
    return report('synth', error, USAGE);
  }
}
