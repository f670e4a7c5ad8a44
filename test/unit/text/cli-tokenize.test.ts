/**
 * tools/cli/tokenize.ts: --build-from/--out, --text, --jsonl (file and errors), --normalize, usage errors.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';

import { parseJsonlStrings, run } from '../../../tools/cli/tokenize.ts';
import { QWEN_TOKENIZER_PATH, cosyVoiceTokenizer } from './qwen.ts';

let dir: string;
let tokenizerPath: string;

/** Run the CLI and capture stdout/stderr. */
async function cli(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  const out = vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
    stdout += String(chunk);
    return true;
  });
  const err = vi.spyOn(process.stderr, 'write').mockImplementation((chunk: string | Uint8Array) => {
    stderr += String(chunk);
    return true;
  });
  try {
    const code = await run(args);
    return { code, stdout, stderr };
  } finally {
    out.mockRestore();
    err.mockRestore();
  }
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'cosyvoice-cli-'));
  tokenizerPath = join(dir, 'tokenizer.json');
  const built = await cli(['--build-from', QWEN_TOKENIZER_PATH, '--out', tokenizerPath]);
  expect(built.code).toBe(0);
  expect(built.stderr).toMatch(/wrote .*tokenizer.json \(20 added tokens/);
});

afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

describe('tokenize CLI', () => {
  it('--build-from writes a tokenizer.json with the CosyVoice specials', () => {
    const json = JSON.parse(readFileSync(tokenizerPath, 'utf8')) as { added_tokens: { id: number; content: string }[] };
    expect(json.added_tokens.map((t) => t.id)).toEqual(Array.from({ length: 20 }, (_, i) => 151643 + i));
    expect(json.added_tokens[3]?.content).toBe('<|endofprompt|>');
  });

  it('--text prints one JSON array of ids per text', async () => {
    const r = await cli(['--tokenizer', tokenizerPath, '--text', '你好[laughter]', '--text', 'Hello world']);
    expect(r.code).toBe(0);
    const tok = cosyVoiceTokenizer();
    expect(r.stdout).toBe(
      `${JSON.stringify(Array.from(tok.encode('你好[laughter]')))}\n${JSON.stringify([9707, 1879])}\n`,
    );
  });

  it('--jsonl reads one JSON string per line (blank lines skipped)', async () => {
    const path = join(dir, 'texts.jsonl');
    writeFileSync(path, ['"Hello world"', '', '"<|endofprompt|>"', '"line\\nbreak"', ''].join('\n'));
    const r = await cli(['--tokenizer', tokenizerPath, '--jsonl', path]);
    expect(r.code).toBe(0);
    const lines = r.stdout.trimEnd().split('\n');
    expect(lines).toHaveLength(3);
    expect(JSON.parse(lines[0] ?? '')).toEqual([9707, 1879]);
    expect(JSON.parse(lines[1] ?? '')).toEqual([151646]);
  });

  it('--normalize prints the normalised segments', async () => {
    const r = await cli([
      '--tokenizer',
      tokenizerPath,
      '--normalize',
      '--text',
      '我有3个苹果',
      '--text',
      'I have 2 cats',
    ]);
    expect(r.code).toBe(0);
    expect(r.stdout).toBe('["我有三个苹果。"]\n["I have two cats."]\n');
  });

  it('reports bad JSONL lines with their line number', async () => {
    const path = join(dir, 'bad.jsonl');
    writeFileSync(path, '"ok"\n{"text": 1}\n');
    const r = await cli(['--tokenizer', tokenizerPath, '--jsonl', path]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/bad.jsonl line 2: expected a JSON string, got object/);
    expect(() => parseJsonlStrings('nope')).toThrow(/input line 1: not valid JSON/);
    expect(parseJsonlStrings('"a"\r\n"b"\r\n')).toEqual(['a', 'b']);
  });

  it('explains usage errors with exit code 2', async () => {
    expect((await cli([])).stderr).toMatch(/missing --tokenizer/);
    expect((await cli(['--tokenizer', tokenizerPath])).stderr).toMatch(/give either --text/);
    expect((await cli(['--tokenizer', tokenizerPath, '--text', 'a', '--jsonl', 'x'])).code).toBe(2);
    expect((await cli(['--build-from', 'x'])).stderr).toMatch(/--build-from and --out go together/);
    const unknown = await cli(['--bogus']);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toMatch(/Unknown option '--bogus'[\s\S]*usage:/);
    const help = await cli(['--help']);
    expect(help.code).toBe(0);
    expect(help.stdout).toMatch(/--build-from/);
  });

  it('reports unreadable files and invalid tokenizers with exit code 1', async () => {
    const missing = await cli(['--tokenizer', join(dir, 'missing.json'), '--text', 'a']);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/cannot read tokenizer.json ".*missing.json"/);
    const badPath = join(dir, 'bad-tokenizer.json');
    writeFileSync(badPath, '{"model": {}}');
    const bad = await cli(['--tokenizer', badPath, '--text', 'a']);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/ERR_INVALID_INPUT: tokenizer.json has no "added_tokens" member/);
  });
});
