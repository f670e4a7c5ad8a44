/**
 * A text stream (bistream) is read as the whole text would be, wherever the producer cut it: pieces get the number
 * reading of the front-end but no sentence-final punctuation of their own (a piece is not a sentence).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { TextIdStream } from '../../../src/request/text-stream.ts';
import { CosyVoiceTokenizer, normalizeStreamPiece } from '../../../src/text/index.ts';
import { TINY_PACKAGE } from '../../helpers/package.ts';

const tokenizer = CosyVoiceTokenizer.fromJson(readFileSync(join(TINY_PACKAGE, 'tokenizer.json'), 'utf8'));
const countTokens = (t: string): number => tokenizer.countTokens(t);

async function streamIds(pieces: readonly string[]): Promise<number[]> {
  const ids: number[] = [];
  for await (const piece of new TextIdStream(tokenizer).pieces(pieces)) ids.push(...piece);
  return ids;
}

describe('text stream pieces', () => {
  it.each([
    // cut inside words, after commas, before spaces: the ids are those of the whole sentence as the producer wrote it
    [['Hello, this is a tiny test, and'], 'Hello, this is a tiny test, and'],
    [
      ['Hello, this is a ti', 'ny test, and', ' it goes on for a while.'],
      'Hello, this is a tiny test, and it goes on for a while.',
    ],
    [['I paid 12 dol', 'lars, and th', 'en left'], 'I paid twelve dollars, and then left'],
    [['我买了3个', '苹果，然后', '回家了'], '我买了三个苹果，然后回家了'],
  ])('%j is read as %j', async (pieces, spoken) => {
    expect(await streamIds(pieces)).toEqual(Array.from(tokenizer.encode(spoken)));
  });

  it('adds no sentence-final punctuation and keeps the piece’s own', () => {
    expect(normalizeStreamPiece('a tiny test, and', { countTokens })).toBe('a tiny test, and');
    expect(normalizeStreamPiece('然后，', { countTokens })).toBe('然后，');
    expect(normalizeStreamPiece('on 3 days.', { countTokens })).toBe('on three days.');
    expect(normalizeStreamPiece('  ', { countTokens })).toBe('');
  });
});
