/**
 * splitParagraph: upstream split_paragraph (spec §2.3) — 80/60/20 packing, terminal marks, quote attachment,
 * code-point lengths for Chinese and token counts for English.
 */
import { describe, expect, it } from 'vitest';

import { EN_TERMINALS, ZH_TERMINALS, codePointLength, splitParagraph } from '../../../src/text/segment.ts';
import { cosyVoiceTokenizer } from './qwen.ts';

/** A Chinese sentence of exactly `n` characters including its final 。 */
function zh(n: number, ch = '好'): string {
  return `${ch.repeat(n - 1)}。`;
}

/** English counter for exact threshold tests: one token per word. */
const words = (t: string): number => t.split(/\s+/).filter((w) => w !== '').length;

/** An English sentence of exactly `n` words ending with a full stop. */
function en(n: number): string {
  return ` ${Array.from({ length: n }, (_, i) => `w${i}`).join(' ')}.`;
}

describe('splitParagraph — terminal marks and quotes', () => {
  it('has upstream terminal marks', () => {
    expect(ZH_TERMINALS.join('')).toBe('。？！；：、.?!;');
    expect(EN_TERMINALS.join('')).toBe('.?!;:');
  });

  it('appends 。 / . when the text does not end with a terminal mark', () => {
    expect(splitParagraph('你好', { lang: 'zh' })).toEqual(['你好。']);
    expect(splitParagraph('你好，', { lang: 'zh' })).toEqual(['你好，。']);
    expect(splitParagraph('Hello', { lang: 'en', countTokens: words })).toEqual(['Hello.']);
    expect(splitParagraph('Hello:', { lang: 'en', countTokens: words })).toEqual(['Hello:']);
    expect(splitParagraph('你好、', { lang: 'zh' })).toEqual(['你好、']);
  });

  it('keeps short sentences together in one segment', () => {
    expect(splitParagraph('第一句。第二句！第三句？', { lang: 'zh' })).toEqual(['第一句。第二句！第三句？']);
    expect(splitParagraph('One. Two! Three?', { lang: 'en', countTokens: words })).toEqual(['One. Two! Three?']);
  });

  it('drops repeated terminal marks after the first, as upstream does', () => {
    expect(splitParagraph('Really?!', { lang: 'en', countTokens: words })).toEqual(['Really?']);
    expect(splitParagraph('好！！！', { lang: 'zh' })).toEqual(['好！']);
    expect(splitParagraph('好……！', { lang: 'zh' })).toEqual(['好……！']);
  });

  it('attaches a " or ” right after a terminal mark to the sentence', () => {
    expect(splitParagraph('他说：“你好。”然后走了', { lang: 'zh' })).toEqual(['他说：“你好。”然后走了。']);
    expect(splitParagraph('He said "Stop." Then left', { lang: 'en', countTokens: words })).toEqual([
      'He said "Stop." Then left.',
    ]);
    expect(splitParagraph('你好。"', { lang: 'zh' })).toEqual(['你好。"']);
    // A closing ’ or 」 is not attached (upstream only knows " and ”).
    expect(splitParagraph(`${zh(70)}」${zh(30)}`, { lang: 'zh' })).toEqual([zh(70), `」${zh(30)}`]);
  });

  it('starts the next sentence with the quote when there is no sentence before it (upstream would crash)', () => {
    expect(splitParagraph('。"你好', { lang: 'zh' })).toEqual(['"你好。']);
  });

  it('treats "." as a Chinese terminal mark and ":" as an English one', () => {
    expect(splitParagraph(`${'好'.repeat(69)}.${zh(30)}`, { lang: 'zh' })).toEqual([`${'好'.repeat(69)}.`, zh(30)]);
    expect(splitParagraph(`${en(70).trim().slice(0, -1)}:${en(30)}`, { lang: 'en', countTokens: words })).toHaveLength(
      2,
    );
  });

  it('does not cut at commas unless commaSplit', () => {
    const text = `${'好'.repeat(69)}，${'好'.repeat(29)}。`;
    expect(splitParagraph(text, { lang: 'zh' })).toEqual([text]);
    expect(splitParagraph(text, { lang: 'zh', commaSplit: true })).toEqual([
      `${'好'.repeat(69)}，`,
      `${'好'.repeat(29)}。`,
    ]);
  });
});

describe('splitParagraph — 80/60/20 packing (zh: characters)', () => {
  it('flushes when current > 60 and current + next > 80', () => {
    expect(splitParagraph(zh(61) + zh(20), { lang: 'zh' })).toEqual([zh(61), zh(20)]);
  });

  it('does not flush when current is exactly 60 (60 is not > 60)', () => {
    expect(splitParagraph(zh(60) + zh(21), { lang: 'zh' })).toEqual([zh(60) + zh(21)]);
  });

  it('does not flush when current + next is exactly 80 (80 is not > 80)', () => {
    expect(splitParagraph(zh(61) + zh(19), { lang: 'zh' })).toEqual([zh(61) + zh(19)]);
  });

  it('glues a final remainder shorter than 20 to the previous segment', () => {
    expect(splitParagraph(zh(61) + zh(20) + zh(19), { lang: 'zh' })).toEqual([zh(61), zh(20) + zh(19)]);
    expect(splitParagraph(zh(70) + zh(19), { lang: 'zh' })).toEqual([zh(70) + zh(19)]);
  });

  it('keeps a final remainder of exactly 20 on its own', () => {
    expect(splitParagraph(zh(70) + zh(20), { lang: 'zh' })).toEqual([zh(70), zh(20)]);
  });

  it('keeps a short text as one segment even below 20 (nothing to glue to)', () => {
    expect(splitParagraph(zh(5), { lang: 'zh' })).toEqual([zh(5)]);
  });

  it('never cuts a single sentence longer than 80', () => {
    expect(splitParagraph(zh(200), { lang: 'zh' })).toEqual([zh(200)]);
    expect(splitParagraph(zh(200) + zh(30), { lang: 'zh' })).toEqual([zh(200), zh(30)]);
  });

  it('packs many short sentences greedily into 61–80 character segments', () => {
    const text = zh(15, '甲').repeat(20);
    const segments = splitParagraph(text, { lang: 'zh' });
    expect(segments.join('')).toBe(text);
    expect(segments.map((s) => s.length)).toEqual([75, 75, 75, 75]);
  });

  it('counts code points, not UTF-16 units (Python len)', () => {
    expect(codePointLength('😀😀a')).toBe(3);
    expect(codePointLength('\ud800x')).toBe(2);
    const astral = `${'𠀀'.repeat(60)}。`; // 61 code points, 121 UTF-16 units
    expect(splitParagraph(astral + zh(19), { lang: 'zh' })).toEqual([astral + zh(19)]);
    expect(splitParagraph(astral + zh(20), { lang: 'zh' })).toEqual([astral, zh(20)]);
  });

  it('honours custom limits', () => {
    expect(splitParagraph(zh(6) + zh(6) + zh(6), { lang: 'zh', tokenMaxN: 10, tokenMinN: 5, mergeLen: 0 })).toEqual([
      zh(6),
      zh(6),
      zh(6),
    ]);
  });
});

describe('splitParagraph — English token counts', () => {
  it('applies the same thresholds to the injected token counter', () => {
    expect(splitParagraph(en(61) + en(20), { lang: 'en', countTokens: words })).toEqual([en(61), en(20)]);
    expect(splitParagraph(en(60) + en(21), { lang: 'en', countTokens: words })).toEqual([en(60) + en(21)]);
    expect(splitParagraph(en(61) + en(19), { lang: 'en', countTokens: words })).toEqual([en(61) + en(19)]);
    expect(splitParagraph(en(70) + en(19), { lang: 'en', countTokens: words })).toEqual([en(70) + en(19)]);
    expect(splitParagraph(en(70) + en(20), { lang: 'en', countTokens: words })).toEqual([en(70), en(20)]);
  });

  it('works with the real Qwen token counter', () => {
    const tok = cosyVoiceTokenizer();
    const sentence = 'The quick brown fox jumps over the lazy dog. ';
    const text = sentence.repeat(20).trim();
    const segments = splitParagraph(text, { lang: 'en', countTokens: (t) => tok.countTokens(t) });
    expect(segments.join('')).toBe(text);
    for (const s of segments.slice(0, -1)) {
      expect(tok.countTokens(s)).toBeGreaterThan(60);
      expect(tok.countTokens(s)).toBeLessThanOrEqual(80);
    }
  });

  it('calls the counter only for English', () => {
    let calls = 0;
    splitParagraph('一。二。', {
      lang: 'zh',
      countTokens: () => {
        calls++;
        return 0;
      },
    });
    expect(calls).toBe(0);
  });
});

describe('splitParagraph — input checks', () => {
  it('returns [] for empty text (upstream would raise IndexError)', () => {
    expect(splitParagraph('', { lang: 'zh' })).toEqual([]);
  });

  it('rejects bad options with ERR_INVALID_INPUT', () => {
    expect(() => splitParagraph('x', { lang: 'fr' as 'zh' })).toThrow(/lang must be "zh" or "en", got "fr"/);
    expect(() => splitParagraph('x', { lang: 'en' })).toThrow(/needs countTokens/);
    expect(() => splitParagraph('x', { lang: 'zh', tokenMaxN: -1 })).toThrow(/tokenMaxN must be a finite number ≥ 0/);
    expect(() => splitParagraph(3 as unknown as string, { lang: 'zh' })).toThrow(/text must be a string/);
  });
});
