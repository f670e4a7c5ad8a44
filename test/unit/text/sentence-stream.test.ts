/**
 * Streaming sentence splitting: pieces split mid-word, mid-number, mid-abbreviation; CJK; quotes; close() flushing.
 */
import { describe, expect, it } from 'vitest';

import { SentenceSplitter, SentenceStream, sentencesFrom, splitSentences } from '../../../src/text/sentence-stream.ts';
import { mulberry32 } from './corpus.ts';

/** Feed `pieces` one by one, then flush; return every sentence. */
function feed(pieces: readonly string[], options?: ConstructorParameters<typeof SentenceSplitter>[0]): string[] {
  const s = new SentenceSplitter(options);
  const out: string[] = [];
  for (const p of pieces) out.push(...s.push(p));
  out.push(...s.flush());
  return out;
}

const ONE_SHOT: readonly (readonly [string, readonly string[]])[] = [
  ['Hello world. How are you?', ['Hello world.', 'How are you?']],
  ['It costs $3.14 today. OK', ['It costs $3.14 today.', 'OK']],
  ['Pi is 3.14. Next', ['Pi is 3.14.', 'Next']],
  ['Talk to Dr. Smith now. Then Mrs. Jones.', ['Talk to Dr. Smith now.', 'Then Mrs. Jones.']],
  ['Use e.g. this one. Or i.e. that.', ['Use e.g. this one.', 'Or i.e. that.']],
  ['Apples, pears, etc. are fruit. Yes.', ['Apples, pears, etc. are fruit.', 'Yes.']],
  ['I bought apples, pears, etc. Then I left.', ['I bought apples, pears, etc.', 'Then I left.']],
  ['He moved to the U.S. and Canada. Fine.', ['He moved to the U.S. and Canada.', 'Fine.']],
  ['I live in the U.S. It is big.', ['I live in the U.S.', 'It is big.']],
  ['Meet at 5 p.m. today. Or at 6 a.m. Tomorrow.', ['Meet at 5 p.m. today.', 'Or at 6 a.m.', 'Tomorrow.']],
  ['Wait... what? I see... Then go.', ['Wait... what?', 'I see...', 'Then go.']],
  ['Hmm… okay. Fine… Really.', ['Hmm… okay.', 'Fine…', 'Really.']],
  ['What?! No way. Yes!!', ['What?!', 'No way.', 'Yes!!']],
  ['"Stop." he said. "Why?" She asked.', ['"Stop." he said.', '"Why?"', 'She asked.']],
  ['(This is it.) Next one.', ['(This is it.)', 'Next one.']],
  ["'Fine.' Then quiet.", ["'Fine.'", 'Then quiet.']],
  ['J. K. Rowling wrote it. Yes.', ['J. K. Rowling wrote it.', 'Yes.']],
  ['So did I. Then we left.', ['So did I.', 'Then we left.']],
  ['1. Buy milk\n2. Eggs', ['1. Buy milk', '2. Eggs']],
  ['It was 1999. Then 2000.', ['It was 1999.', 'Then 2000.']],
  ['Visit example.com today. Bye.', ['Visit example.com today.', 'Bye.']],
  ['See Fig. 3 and vs. the rest.', ['See Fig. 3 and vs. the rest.']],
  ['Version 2.0.1 is out. Great.', ['Version 2.0.1 is out.', 'Great.']],
  ['Title\n\nBody text here.', ['Title', 'Body text here.']],
  ['Hello.你好。', ['Hello.', '你好。']],
  ['你好。我很好！你呢？', ['你好。', '我很好！', '你呢？']],
  ['他说：“你好。”然后走了。', ['他说：“你好。”', '然后走了。']],
  ['「これは本です。」と言った。', ['「これは本です。」', 'と言った。']],
  ['我想想……好吧。', ['我想想……好吧。']],
  ['价格是3.5元。很便宜！', ['价格是3.5元。', '很便宜！']],
  ['真的吗？！太好了。', ['真的吗？！', '太好了。']],
  ['《红楼梦》很好看。', ['《红楼梦》很好看。']],
  ['안녕하세요. 반갑습니다.', ['안녕하세요.', '반갑습니다.']],
  ['No terminator at all', ['No terminator at all']],
  ['   ', []],
  ['', []],
];

describe('splitSentences (one shot)', () => {
  it.each(ONE_SHOT)('%j → %j', (text, expected) => {
    expect(splitSentences(text)).toEqual(expected);
  });

  it('can keep line breaks inside sentences', () => {
    expect(splitSentences('Title\n\nBody text here.', { newlineIsBoundary: false })).toEqual([
      'Title\n\nBody text here.',
    ]);
  });

  it('accepts extra abbreviations', () => {
    expect(splitSentences('See Ref. 5 for details.')).toEqual(['See Ref.', '5 for details.']);
    expect(splitSentences('See Ref. 5 for details.', { abbreviations: ['ref.'] })).toEqual(['See Ref. 5 for details.']);
  });
});

describe('SentenceSplitter — pieces split anywhere', () => {
  it('mid-word', () => {
    expect(feed(['Hel', 'lo wor', 'ld. How', ' are you?'])).toEqual(['Hello world.', 'How are you?']);
  });

  it('mid-number: waits after "3." until it knows whether a digit follows', () => {
    const s = new SentenceSplitter();
    expect(s.push('It costs $3')).toEqual([]);
    expect(s.push('.')).toEqual([]);
    expect(s.push('14 today. O')).toEqual(['It costs $3.14 today.']);
    expect(s.push('K')).toEqual([]);
    expect(s.flush()).toEqual(['OK']);
  });

  it('mid-abbreviation', () => {
    expect(feed(['Talk to D', 'r', '.', ' Smith now', '. Bye'])).toEqual(['Talk to Dr. Smith now.', 'Bye']);
    expect(feed(['Use e.', 'g', '. this. Then'])).toEqual(['Use e.g. this.', 'Then']);
    expect(feed(['in the U.', 'S.', ' ', 'and more. End'])).toEqual(['in the U.S. and more.', 'End']);
  });

  it('emits a sentence as soon as the text after it has arrived', () => {
    const s = new SentenceSplitter();
    expect(s.push('First one.')).toEqual([]);
    expect(s.push(' ')).toEqual(['First one.']);
    expect(s.pending).toBe('');
    expect(s.push('你好。')).toEqual([]);
    expect(s.push('”')).toEqual([]);
    expect(s.push('我')).toEqual(['你好。”']);
    expect(s.pending).toBe('我');
  });

  it('waits for the next word after an ellipsis or a quoted stop', () => {
    const s = new SentenceSplitter();
    expect(s.push('Wait... ')).toEqual([]);
    expect(s.push('what? ')).toEqual(['Wait... what?']);
    expect(s.push('"Go." ')).toEqual([]);
    expect(s.push('he said. ')).toEqual(['"Go." he said.']);
  });

  it('keeps surrogate pairs split across pieces intact', () => {
    const text = 'Hi 😀. Bye 👋🏽!';
    expect(feed([text.slice(0, 4), text.slice(4, 10), text.slice(10)])).toEqual(['Hi 😀.', 'Bye 👋🏽!']);
  });

  it('gives the one-shot result for every split point and for random piece sizes', () => {
    const texts = ONE_SHOT.map(([t]) => t).concat([
      'Dr. J. K. Smith paid $3.50 at 5 p.m. in the U.S. Then he left... Why? "Because." 好的。“真的？”是的！',
    ]);
    const rand = mulberry32(7);
    for (const text of texts) {
      const expected = splitSentences(text);
      for (let cut = 0; cut <= text.length; cut++) {
        expect(feed([text.slice(0, cut), text.slice(cut)])).toEqual(expected);
      }
      for (let trial = 0; trial < 20; trial++) {
        const pieces: string[] = [];
        for (let i = 0; i < text.length;) {
          const n = 1 + Math.floor(rand() * 4);
          pieces.push(text.slice(i, i + n));
          i += n;
        }
        expect(feed(pieces)).toEqual(expected);
      }
    }
  });

  it('rejects non-string pieces', () => {
    expect(() => new SentenceSplitter().push(3 as unknown as string)).toThrow(
      /ERR_INVALID_INPUT: sentence splitter pieces must be strings, got number/,
    );
  });
});

describe('SentenceStream', () => {
  it('is async-iterable, yields sentences as they complete, and close() flushes the rest', async () => {
    const stream = new SentenceStream();
    const seen: string[] = [];
    const consumer = (async () => {
      for await (const sentence of stream) seen.push(sentence);
    })();
    stream.push('Hello ', 'wor', 'ld. ');
    await Promise.resolve();
    await Promise.resolve();
    expect(seen).toEqual(['Hello world.']);
    stream.push('你好。', '再见');
    expect(stream.closed).toBe(false);
    stream.close();
    await consumer;
    expect(seen).toEqual(['Hello world.', '你好。', '再见']);
    expect(stream.closed).toBe(true);
  });

  it('buffers sentences pushed before anyone iterates', async () => {
    const stream = new SentenceStream();
    stream.push('One. Two. Three');
    stream.close();
    const all: string[] = [];
    for await (const s of stream) all.push(s);
    expect(all).toEqual(['One.', 'Two.', 'Three']);
  });

  it('flush() emits the pending text without closing', async () => {
    const stream = new SentenceStream();
    const it = stream[Symbol.asyncIterator]();
    stream.push('no terminator yet');
    stream.flush();
    expect(await it.next()).toEqual({ done: false, value: 'no terminator yet' });
    stream.push('more. ');
    expect(await it.next()).toEqual({ done: false, value: 'more.' });
    stream.close();
    expect(await it.next()).toEqual({ done: true, value: undefined });
  });

  it('breaking out of for-await closes the stream; push() after close() throws', async () => {
    const stream = new SentenceStream();
    stream.push('One. Two. Three. ');
    for await (const s of stream) {
      expect(s).toBe('One.');
      break;
    }
    expect(stream.closed).toBe(true);
    expect(() => {
      stream.push('x');
    }).toThrow(/ERR_INVALID_INPUT: push\(\) after close\(\)/);
    stream.close(); // idempotent
  });
});

describe('sentencesFrom', () => {
  it('turns an async iterable of pieces into sentences', async () => {
    async function* tokens(): AsyncGenerator<string> {
      for (const t of ['Mr', '. Smith', ' paid $3', '.', '50', '. He', ' left', '… and came', ' back!', ' 好', '。']) {
        await Promise.resolve();
        yield t;
      }
    }
    const out: string[] = [];
    for await (const s of sentencesFrom(tokens())) out.push(s);
    expect(out).toEqual(['Mr. Smith paid $3.50.', 'He left… and came back!', '好。']);
  });

  it('accepts a plain iterable', async () => {
    const out: string[] = [];
    for await (const s of sentencesFrom(['a. ', 'b'])) out.push(s);
    expect(out).toEqual(['a.', 'b']);
  });
});
