import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { decodeWav } from '../../../src/dsp/index.ts';
import { GOLDEN, ROOT, SHARED_DATA, TINY_PACKAGE } from '../../helpers/package.ts';

const run = promisify(execFile);
// Each case runs the CLI several times in sequence (`npx tsx` start-up, package and engine load each time): a few
// times the global test budget (vite.config.ts), so it holds on a loaded 2-core machine. It catches hangs only.
const CLI_CASE_TIMEOUT_MS = 540_000;
const tmp = mkdtempSync(join(tmpdir(), 'cli-'));
const PROMPT = join(SHARED_DATA, 'prompts/zero_shot_prompt.wav');
const PROMPT_TEXT = readFileSync(join(SHARED_DATA, 'prompts/zero_shot_prompt.txt'), 'utf8').trim();
// the golden zh sentence: long enough that the LM's minimum length (2 tokens per text token) spans several chunks
const TEXT =
  (JSON.parse(readFileSync(join(GOLDEN, 'texts.json'), 'utf8')) as Record<string, { text: string }>)['zh']?.text ?? '';

async function cli(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run('npx', ['tsx', 'tools/cli/main.ts', ...args], { cwd: ROOT });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const e = error as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

describe('cli synth / voice', () => {
  it(
    'same seed → same bytes; streaming gives audio of the same length; a voice file reproduces --prompt',
    async () => {
      const base = ['synth', '--model', TINY_PACKAGE, '--text', TEXT, '--seed', '42', '--dtype', 'fp32'];
      const a = await cli(...base, '--prompt', PROMPT, '--prompt-text', PROMPT_TEXT, '--out', join(tmp, 'a.wav'));
      expect(a.code, a.stderr).toBe(0);
      const b = await cli(...base, '--prompt', PROMPT, '--prompt-text', PROMPT_TEXT, '--out', join(tmp, 'b.wav'));
      expect(readFileSync(join(tmp, 'a.wav')).equals(readFileSync(join(tmp, 'b.wav')))).toBe(true);
      expect(b.stderr).toMatch(/seed 42, RTF/);

      const v = await cli(
        'voice',
        'create',
        '--model',
        TINY_PACKAGE,
        '--prompt',
        PROMPT,
        '--prompt-text',
        PROMPT_TEXT,
        '--out',
        join(tmp, 'voice.bin'),
      );
      expect(v.code, v.stderr).toBe(0);
      const c = await cli(...base, '--voice', join(tmp, 'voice.bin'), '--out', join(tmp, 'c.wav'));
      expect(c.code, c.stderr).toBe(0);
      expect(readFileSync(join(tmp, 'c.wav')).equals(readFileSync(join(tmp, 'a.wav')))).toBe(true);

      const s = await cli(...base, '--voice', join(tmp, 'voice.bin'), '--stream', '--out', join(tmp, 's.wav'));
      expect(s.code, s.stderr).toBe(0);
      const streamedChunks = Number(/(\d+) streamed chunks/.exec(s.stderr)?.[1] ?? 0);
      expect(streamedChunks).toBeGreaterThanOrEqual(2);
      const offline = decodeWav(new Uint8Array(readFileSync(join(tmp, 'a.wav'))));
      const streamed = decodeWav(new Uint8Array(readFileSync(join(tmp, 's.wav'))));
      expect(offline.sampleRate).toBe(24000);
      expect(streamed.samples.length).toBe(offline.samples.length);

      const few = await cli(
        ...base,
        '--voice',
        join(tmp, 'voice.bin'),
        '--flow-steps',
        '4',
        '--out',
        join(tmp, 'f.wav'),
      );
      expect(few.code, few.stderr).toBe(0);
      const coarse = decodeWav(new Uint8Array(readFileSync(join(tmp, 'f.wav'))));
      expect(coarse.samples.length).toBe(offline.samples.length);
      expect(readFileSync(join(tmp, 'f.wav')).equals(readFileSync(join(tmp, 'a.wav')))).toBe(false);

      const info = await cli('voice', 'info', '--model', TINY_PACKAGE, '--voice', join(tmp, 'voice.bin'));
      expect(JSON.parse(info.stdout)).toMatchObject({ promptTokens: 87, promptTextIds: 10 });
    },
    CLI_CASE_TIMEOUT_MS,
  );

  it(
    'explains usage mistakes with exit code 2 and runtime failures with exit code 1',
    async () => {
      const missing = await cli('synth', '--model', TINY_PACKAGE, '--prompt', PROMPT, '--out', join(tmp, 'x.wav'));
      expect(missing.code).toBe(2);
      expect(missing.stderr).toContain('--text');
      const badDevice = await cli(
        'synth',
        '--model',
        TINY_PACKAGE,
        '--device',
        'webgpu',
        '--prompt',
        PROMPT,
        '--text',
        'a',
        '--out',
        join(tmp, 'x.wav'),
      );
      expect(badDevice.code).toBe(2);
      const noModel = await cli(
        'synth',
        '--model',
        tmp,
        '--prompt',
        PROMPT,
        '--text',
        'a',
        '--out',
        join(tmp, 'x.wav'),
      );
      expect(noModel.code).toBe(1);
      expect(noModel.stderr).toContain('ERR_ASSET_FETCH');
      const synth = ['synth', '--model', TINY_PACKAGE, '--prompt', PROMPT, '--text', 'a', '--out', join(tmp, 'x.wav')];
      const badSteps = await cli(...synth, '--flow-steps', '0');
      expect(badSteps.code).toBe(1);
      expect(badSteps.stderr).toMatch(
        /\[ERR_INVALID_INPUT\] options\.flowSteps must be an integer in \[1, 50\], got 0/,
      );
      const firstWithoutStream = await cli(...synth, '--first-chunk-flow-steps', '3');
      expect(firstWithoutStream.code).toBe(2);
      expect(firstWithoutStream.stderr).toContain('--first-chunk-flow-steps needs --stream');
      const corrupt = await cli('voice', 'info', '--model', TINY_PACKAGE, '--voice', PROMPT);
      expect(corrupt.code).toBe(1);
      expect(corrupt.stderr).toContain('ERR_INVALID_INPUT');
    },
    CLI_CASE_TIMEOUT_MS,
  );

  it(
    '--timeout-ms aborts the request: exit code 124, the reason on stderr, no file; a bad value is a usage error',
    async () => {
      const out = join(tmp, 'timeout.wav');
      const synth = ['synth', '--model', TINY_PACKAGE, '--prompt', PROMPT, '--prompt-text', PROMPT_TEXT, '--out', out];
      // the text is long enough that no machine synthesises it within 1 ms
      const late = await cli(...synth, '--text', TEXT.repeat(20), '--timeout-ms', '1');
      expect(late.code, late.stderr).toBe(124);
      expect(late.stderr).toContain('did not finish within --timeout-ms 1 ms');
      expect(existsSync(out)).toBe(false);
      for (const bad of ['0', '1.5', 'soon']) {
        const usage = await cli(...synth, '--text', TEXT, '--timeout-ms', bad);
        expect(usage.code).toBe(2);
        expect(usage.stderr).toContain('--timeout-ms must be');
      }
    },
    CLI_CASE_TIMEOUT_MS,
  );
});
