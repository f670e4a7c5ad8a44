import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { run } from '../../../tools/cli/features.ts';
import {
  createFbankPlan,
  createPromptMelPlan,
  createWhisperMelPlan,
  encodeWav,
  promptMel,
  resampleAudio,
  speakerFbank,
  whisperLogMel,
} from '../../../src/dsp/index.ts';
import { bitEqual, lcg, REPO } from './golden.ts';

const dir = mkdtempSync(path.join(tmpdir(), 'dsp-cli-'));
afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

function readF32(file: string): Float32Array {
  const bytes = readFileSync(file);
  return new Float32Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength));
}

// 1.2 s of stereo 44.1 kHz 24-bit audio: exercises decoding, mono mixing and resampling.
const stereo = lcg(77, 2 * 52920).map((v) => v * 0.3);
const input = path.join(dir, 'in.wav');
writeFileSync(input, encodeWav(stereo, 44100, { encoding: 'pcm24', numChannels: 2 }));
const mono = new Float32Array(52920).map((_, i) => {
  const l = Math.round((stereo[2 * i] ?? 0) * 8388608) / 8388608;
  const r = Math.round((stereo[2 * i + 1] ?? 0) * 8388608) / 8388608;
  return (l + r) / 2;
});

async function runQuiet(argv: string[]): Promise<{ code: number; out: string; err: string }> {
  const log = vi.spyOn(console, 'log').mockImplementation(() => undefined);
  const error = vi.spyOn(console, 'error').mockImplementation(() => undefined);
  try {
    const code = await run(argv);
    return { code, out: log.mock.calls.flat().join('\n'), err: error.mock.calls.flat().join('\n') };
  } finally {
    log.mockRestore();
    error.mockRestore();
  }
}

describe('cli features', () => {
  it('whisper-mel: resamples to 16 kHz, writes [128, T] float32 LE and prints the shape', async () => {
    const out = path.join(dir, 'wm.f32');
    const r = await runQuiet(['--kind', 'whisper-mel', '--in', input, '--out', out]);
    expect(r.code).toBe(0);
    const expected = whisperLogMel(resampleAudio(mono, 44100, 16000), createWhisperMelPlan());
    expect(r.out).toContain(`whisper-mel: [128, ${expected.length / 128}]`);
    expect(bitEqual(readF32(out), expected)).toBe(true);
  });

  it('fbank (16 kHz, with CMN) and prompt-mel (24 kHz)', async () => {
    const fb = path.join(dir, 'fb.f32');
    expect((await runQuiet(['--kind', 'fbank', '--in', input, '--out', fb])).code).toBe(0);
    expect(bitEqual(readF32(fb), speakerFbank(resampleAudio(mono, 44100, 16000), createFbankPlan()))).toBe(true);
    const pm = path.join(dir, 'pm.f32');
    const r = await runQuiet(['--kind', 'prompt-mel', '--in', input, '--out', pm]);
    expect(r.out).toContain('prompt-mel: [60, 80]');
    expect(bitEqual(readF32(pm), promptMel(resampleAudio(mono, 44100, 24000), createPromptMelPlan()))).toBe(true);
  });

  it('resample --rate', async () => {
    const out = path.join(dir, 'rs.f32');
    const r = await runQuiet(['--kind', 'resample', '--rate', '22050', '--in', input, '--out', out]);
    expect(r.out).toContain('resample: [26460]');
    expect(bitEqual(readF32(out), resampleAudio(mono, 44100, 22050))).toBe(true);
  });

  it.each([
    [['--kind', 'mfcc', '--in', 'a', '--out', 'b'], /--kind must be one of whisper-mel, fbank, prompt-mel, resample/],
    [['--kind', 'resample', '--in', 'a', '--out', 'b'], /needs --rate N/],
    [['--kind', 'resample', '--rate', '16k', '--in', 'a', '--out', 'b'], /--rate must be a positive integer/],
    [['--kind', 'fbank', '--rate', '16000', '--in', 'a', '--out', 'b'], /--rate only applies to --kind resample/],
    [['--kind', 'fbank', '--out', 'b'], /--in <file.wav> is required/],
    [['--kind', 'fbank', '--in', 'a', '--out', 'b', '--verbose'], /Unknown option '--verbose'/],
  ])('usage error %j → exit 2 with what is allowed', async (argv, message) => {
    const r = await runQuiet(argv);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(message);
    expect(r.err).toContain('usage: npm run cli -- features');
  });

  it('bad input files → exit 1 with the reason', async () => {
    expect((await runQuiet(['--kind', 'fbank', '--in', path.join(dir, 'missing.wav'), '--out', 'x'])).code).toBe(1);
    const notWav = path.join(dir, 'x.txt');
    writeFileSync(notWav, 'hello, this is not audio');
    const r = await runQuiet(['--kind', 'fbank', '--in', notWav, '--out', path.join(dir, 'y.f32')]);
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/ERR_INVALID_INPUT: not a WAV file/);
  });

  it('works through the real dispatcher (tools/cli/main.ts) in a child process', () => {
    const out = path.join(dir, 'child.f32');
    const stdout = execFileSync(
      process.execPath,
      ['--import', 'tsx', 'tools/cli/main.ts', 'features', '--kind', 'prompt-mel', '--in', input, '--out', out],
      { cwd: REPO, encoding: 'utf8' },
    );
    expect(stdout).toMatch(/^prompt-mel: \[60, 80\] float32 LE/);
    expect(readF32(out).length).toBe(60 * 80);
  });
});
