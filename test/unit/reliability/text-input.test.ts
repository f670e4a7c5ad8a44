/**
 * Bad-input table, text part (issue #13.6): hostile-but-realistic text through the public `Engine`, each probe then
 * followed by a good request on the same instance. Probes whose fix belongs to the request layer (user-typed special
 * tokens, unknown option keys, voice-profile validation) are listed in the branch report until that layer validates
 * them; they are not in this table.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Engine } from '../../../src/engine/engine.ts';
import type { VoiceProfile } from '../../../src/models/voice/voice-profile.ts';
import { loadOrt } from '../../../src/runtime/ort.ts';
import { normalizeText, stripControlCharacters } from '../../../src/text/index.ts';
import { GOLDEN, openPackageDir, TINY_PACKAGE } from '../../helpers/package.ts';
import { goldenVoice } from '../../helpers/voice.ts';

const texts = JSON.parse(readFileSync(join(GOLDEN, 'texts.json'), 'utf8')) as Record<string, { text: string }>;
const ZH = texts['zh']?.text ?? '';

let engine: Engine;
let voice: VoiceProfile;
beforeAll(async () => {
  const pkg = await openPackageDir(TINY_PACKAGE);
  engine = await Engine.create(pkg, await loadOrt('wasm'), { device: 'wasm', dtype: 'fp32' });
  voice = goldenVoice(pkg);
});
afterAll(async () => {
  await engine.dispose();
});

const segments = (text: string): string[] =>
  normalizeText(text, { countTokens: (t) => engine.tokenizer.countTokens(t) });

describe('control characters are never read aloud', () => {
  const cases: ReadonlyArray<[string, string]> = [
    ['\x1b[31mRed alert\x1b[0m', 'Red alert'],
    ['\x1b[1;32mgreen\x1b[m', 'green'],
    ['bell\x07 and\x00 null', 'bell and null'],
    ['del\x7f and c1\x9b', 'del and c1'],
    ['tabs\tand\nlines stay', 'tabs\tand\nlines stay'],
    ['RTL mark \u200f and joiner \u200d stay', 'RTL mark \u200f and joiner \u200d stay'],
  ];
  for (const [input, expected] of cases) {
    it(`strips ${JSON.stringify(input)}`, () => {
      expect(stripControlCharacters(input)).toBe(expected);
    });
  }

  it('an ANSI colour code is not spelled out as a number', () => {
    const spoken = segments('\x1b[31mWarning: disk full.\x1b[0m').join(' ');
    expect(spoken).not.toMatch(/thirty|\[/);
    expect(spoken).not.toContain('\x1b');
    expect(spoken).toContain('Warning');
  });

  it('the engine speaks text wrapped in escape codes exactly like the clean text', async () => {
    const clean = await engine.synthesize(ZH, { voice, seed: 4 });
    const dirty = await engine.synthesize(`\x1b[31m${ZH}\x07\x1b[0m`, { voice, seed: 4 });
    expect(Buffer.from(dirty.samples.buffer).equals(Buffer.from(clean.samples.buffer))).toBe(true);
  });

  it('text made only of control characters is a typed error, and the engine then speaks', async () => {
    await expect(engine.synthesize('\x1b[0m\x00\x07', { voice })).rejects.toMatchObject({ code: 'ERR_INVALID_INPUT' });
    const after = await engine.synthesize(ZH, { voice, seed: 1 });
    expect(after.samples.length).toBeGreaterThan(0);
  });
});
