/**
 * Bistream state machine (spec §4.6): replay of the upstream call log (llm.npz `bistream.*`) through
 * {@link decodeBistream} with a fake LM step returning the stored `call_logp` rows and a sampler returning
 * `sampler_returns`; plus hand-made scenarios for branches the vectors do not exercise.
 */
import { describe, expect, it } from 'vitest';

import { TTSError } from '../../../src/errors.ts';
import type { BistreamInstruction } from '../../../src/models/lm/bistream.ts';
import { BistreamMachine } from '../../../src/models/lm/bistream.ts';
import type { LmStepRecord } from '../../../src/models/lm/decode-loop.ts';
import { decodeBistream } from '../../../src/models/lm/decode-loop.ts';
import type { LmSegment } from '../../../src/models/lm/sequence.ts';
import { flattenSegments } from '../../../src/models/lm/sequence.ts';
import { maxAbsDiff } from '../../helpers/npz.ts';
import { floatArray, intArray, row, TINY } from './vectors.ts';

const KIND_CODE = { sos: 0, task: 1, text: 2, speech: 3 } as const;
const FILL = TINY.fillId;
const EOS = TINY.eosId;

function pieces(ids: readonly number[], lengths: readonly number[]): number[][] {
  const out: number[][] = [];
  let at = 0;
  for (const n of lengths) {
    out.push(ids.slice(at, at + n));
    at += n;
  }
  return out;
}

async function* asAsync<T>(items: readonly T[]): AsyncGenerator<T> {
  for (const item of items) {
    await Promise.resolve();
    yield item;
  }
}

async function replay(textPieces: readonly (readonly number[])[], asyncText: boolean) {
  const callLogp = floatArray('bistream.call_logp');
  const returns = intArray('bistream.sampler_returns');
  const records: LmStepRecord[] = [];
  const fed: LmSegment[][] = [];
  let nextReturn = 0;
  let logpErr = 0;
  const result = await decodeBistream(
    asyncText ? asAsync(textPieces) : textPieces,
    { promptTextIds: intArray('bistream.prompt_text'), promptSpeechIds: intArray('bistream.prompt_speech_token') },
    (segments) => {
      fed.push([...segments]);
      return row(callLogp, fed.length - 1);
    },
    {
      tokens: TINY,
      sampler: (logp) => {
        logpErr = Math.max(logpErr, maxAbsDiff(logp, row(callLogp, records.length)));
        const t = returns[nextReturn++];
        if (t === undefined) throw new Error('sampler_returns exhausted');
        return t;
      },
      onStep: (r) => records.push(r),
    },
  );
  return { result, records, fed, samplerCalls: nextReturn, logpErr };
}

describe('bistream replay vs the upstream call log', () => {
  const text = intArray('bistream.text');
  const cases = [
    ['pieces [4, 4, 8] (as recorded)', intArray('bistream.text_piece_len'), false],
    ['pieces [4, 4, 8] from an async iterable', intArray('bistream.text_piece_len'), true],
    ['one id per piece (official frontend)', new Array<number>(text.length).fill(1), false],
  ] as const;

  it.each(cases)('%s', async (_name, lengths, asyncText) => {
    const { result, records, fed, samplerCalls, logpErr } = await replay(pieces(text, lengths), asyncText);
    const offsets = intArray('bistream.call_offset');
    const nCalls = offsets.length - 1;
    expect(records.length).toBe(nCalls);
    expect(samplerCalls).toBe(intArray('bistream.sampler_returns').length);
    // call offsets and past lengths
    expect(records.map((r) => r.position)).toEqual(intArray('bistream.call_past_len'));
    expect([...records.map((r) => r.position), records.length > 0 ? offsets.at(-1) : 0]).toEqual(offsets);
    // row kinds and ids, call by call
    const rows = fed.flatMap((segments) => flattenSegments(segments));
    expect(rows.map((r) => KIND_CODE[r.kind])).toEqual(intArray('bistream.call_row_kind'));
    expect(rows.map((r) => r.id)).toEqual(intArray('bistream.call_row_id'));
    fed.forEach((segments, c) => {
      expect(flattenSegments(segments).length, `call ${c}`).toBe((offsets[c + 1] ?? 0) - (offsets[c] ?? 0));
    });
    // decisions
    expect(records.map((r) => r.token)).toEqual(intArray('bistream.out_tokens'));
    expect(Array.from(result.outTokens)).toEqual(intArray('bistream.out_tokens'));
    expect(Array.from(result.tokens)).toEqual(intArray('bistream.emitted'));
    expect(records.map((r) => (r.sampled ? 1 : 0))).toEqual(intArray('bistream.call_sampled'));
    expect(records.map((r) => (r.ignoreEos ? 1 : 0))).toEqual(intArray('bistream.call_ignore_eos'));
    const fillCalls = intArray('bistream.call_sampled').flatMap((sampled, c) => (sampled === 0 ? [c] : []));
    expect(fillCalls.length).toBeGreaterThan(0);
    expect(records.filter((r) => r.token === FILL).map((r) => r.call)).toEqual(fillCalls);
    expect(result.stopReason).toBe('stop-token');
    expect(result.stopToken).toBe(EOS);
    expect(logpErr).toBeLessThan(2e-6); // log_softmax of stored log-probs is the identity up to rounding
    // the re-fed row: first row of the final call = first row of the call that produced the last FILL
    const lastFill = fillCalls.at(-1) ?? -1;
    expect(flattenSegments(fed[lastFill + 1] ?? [])[0]).toEqual(flattenSegments(fed[lastFill] ?? [])[0]);
    expect(records[lastFill + 1]?.phase).toBe('final');
  });
});

/** Drives a machine with a scripted decision list; returns the instruction log. */
function drive(machine: BistreamMachine, decide: (ins: Extract<BistreamInstruction, { type: 'step' }>) => number) {
  const log: { rows: string; position: number; forced: boolean; phase: string; token: number }[] = [];
  for (let ins = machine.next(); ins.type === 'step'; ins = machine.next()) {
    const token = ins.forcedToken ?? decide(ins);
    const rows = flattenSegments(ins.segments)
      .map((r) => (r.kind === 'sos' ? 'S' : r.kind === 'task' ? 'T' : `${r.kind[0] ?? '?'}${r.id}`))
      .join(' ');
    log.push({ rows, position: ins.position, forced: ins.forcedToken !== undefined, phase: ins.phase, token });
    machine.commit(token);
  }
  return log;
}

describe('bistream state machine: hand-made scenarios', () => {
  const cfg = TINY; // mix 5:15 (CosyVoice 2's, in every set), V and FILL from the set's config.json

  it('after FILL with < 5 text ids cached it waits for more text (upstream `continue`)', () => {
    const m = new BistreamMachine({ promptTextIds: [], promptSpeechIds: [] }, cfg);
    expect(m.nextFillIndex).toBe(15);
    expect(m.next()).toEqual({ type: 'need-text' });
    m.pushText([1, 2, 3]);
    expect(m.next()).toEqual({ type: 'need-text' }); // only SOS pending, 3 < 5 text ids: wait
    m.pushText([4, 5, 6]);
    let t = 100;
    const first = drive(m, () => t++);
    expect(first[0]).toMatchObject({ rows: 'S t1 t2 t3 t4 t5', position: 0, forced: false });
    expect(first).toHaveLength(16); // 15 sampled, then FILL forced at len(out) = 15
    expect(first.at(-1)).toMatchObject({ rows: 's114', position: 20, forced: true, token: FILL });
    expect(m.nextFillIndex).toBe(31);
    expect(m.cachedTextCount).toBe(1);
    m.pushText([7, 8]);
    expect(m.next()).toEqual({ type: 'need-text' }); // FILL, 3 < 5 cached: wait
    m.pushText([9]);
    expect(m.next()).toEqual({ type: 'need-text' });
    m.pushText([10, 11, 12]); // now 7 cached
    const second = drive(m, () => t++);
    // FILL is never fed: the 5 text rows replace the pending input
    expect(second[0]).toMatchObject({ rows: 't6 t7 t8 t9 t10', position: 21 });
    expect(second.at(-1)).toMatchObject({ position: 40, forced: true }); // out length 31 = 21 + 5 + 14
    m.endText();
    const final = drive(m, (ins) => (ins.position > 46 ? EOS : t++));
    // re-feed quirk: the FILL call's input (1 speech row) comes again, then the 2 remaining text ids and TASK
    expect(final[0]).toMatchObject({ rows: `s${second.at(-2)?.token ?? -1} t11 t12 T`, position: 41, phase: 'final' });
    expect(final.at(-1)?.token).toBe(EOS);
    expect(m.next()).toEqual({ type: 'done' });
  });

  it('refeedFillInput: false starts the final call with the remaining text', () => {
    const m = new BistreamMachine({ promptTextIds: [], promptSpeechIds: [] }, cfg, { refeedFillInput: false });
    m.pushText([1, 2, 3, 4, 5]);
    let t = 0;
    drive(m, () => t++);
    m.pushText([6]);
    m.endText();
    const final = drive(m, () => EOS);
    expect(final[0]?.rows).toBe('t6 T');
  });

  it('a sampled FILL ends the burst and moves the next forced FILL to len(out) + 16', () => {
    const m = new BistreamMachine({ promptTextIds: [9, 9, 9, 9, 9], promptSpeechIds: [] }, cfg);
    m.pushText([1]);
    const tokens = [11, 12, 13, FILL];
    const log = drive(m, () => tokens.shift() ?? -1);
    expect(log.map((l) => l.token)).toEqual([11, 12, 13, FILL]);
    expect(log.at(-1)?.forced).toBe(false);
    expect(m.nextFillIndex).toBe(3 + 16);
    expect(m.history).toEqual([11, 12, 13, FILL]);
  });

  it('prompt interleave waits for text and drops unconsumed prompt speech when the text ends early', () => {
    const speech = Array.from({ length: 20 }, (_, i) => cfg.speechTokenSize - 20 + i);
    const m = new BistreamMachine({ promptTextIds: [1, 2], promptSpeechIds: speech }, cfg);
    expect(m.nextFillIndex).toBe(10);
    m.pushText([3, 4, 5]);
    expect(m.next()).toEqual({ type: 'need-text' }); // 5 text + 15 speech appended, 5 speech still pending
    m.pushText([6]);
    expect(m.next()).toEqual({ type: 'need-text' });
    m.endText();
    const log = drive(m, () => EOS);
    expect(log[0]?.rows).toBe(
      `S t1 t2 t3 t4 t5 ${speech
        .slice(0, 15)
        .map((s) => `s${s}`)
        .join(' ')} t6 T`,
    );
  });

  it('next() is idempotent while a step is outstanding; commit validates its input', () => {
    const m = new BistreamMachine({ promptTextIds: [], promptSpeechIds: [] }, cfg);
    expect(() => m.commit(1)).toThrow(/outstanding/);
    m.pushText([1, 2, 3, 4, 5]);
    const a = m.next();
    expect(m.next()).toBe(a);
    expect(() => m.commit(TINY.fillId + 1)).toThrow(TTSError);
    expect(() => m.commit(1.5)).toThrow(TTSError);
    expect(m.commit(7)).toEqual({ type: 'emit', token: 7 });
    expect(m.position).toBe(6);
    // special ids upstream rejects
    expect(m.next().type).toBe('step');
    expect(() => m.commit(TINY.eosId + 1)).toThrow(expect.objectContaining({ code: 'ERR_INFERENCE' }) as Error);
    const f = new BistreamMachine({ promptTextIds: [], promptSpeechIds: [] }, cfg);
    f.endText();
    expect(f.next()).toMatchObject({ type: 'step', phase: 'final', ignoreEos: false, position: 0 });
    expect(() => f.commit(FILL)).toThrow(/final phase/);
    const forced = new BistreamMachine({ promptTextIds: [], promptSpeechIds: Array<number>(15).fill(0) }, cfg);
    forced.pushText([1, 2, 3, 4, 5]);
    expect(forced.nextFillIndex).toBe(15);
    expect(() => {
      forced.pushText([-1]);
    }).toThrow(TTSError);
    forced.endText();
    expect(() => {
      forced.pushText([1]);
    }).toThrow(/after endText/);
  });

  it('rejects bad configurations', () => {
    const p = { promptTextIds: [], promptSpeechIds: [] };
    expect(() => new BistreamMachine(p, { ...cfg, mixRatio: [5] })).toThrow(/mixRatio/);
    expect(() => new BistreamMachine(p, { ...cfg, fillId: 1 })).toThrow(/fillId/);
    expect(() => new BistreamMachine({ promptTextIds: [], promptSpeechIds: [cfg.speechTokenSize] }, cfg)).toThrow(
      /promptSpeechIds/,
    );
  });
});
