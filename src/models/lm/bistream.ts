/**
 * The bistream (text-in streaming) state machine of `Qwen2LM.inference_bistream` (spec §4.6), as a pure,
 * step-driven object: the caller pushes text-id pieces, asks {@link BistreamMachine.next} what to feed the LM, runs
 * the LM on those rows, and commits the decided token. No tensors, no sampling, no I/O.
 *
 * Upstream parity (upstream-vectors README, "Bistream"): the text generator is consumed one piece per loop
 * iteration, and every rule below is applied per piece, so piece boundaries matter exactly as they do upstream
 * (the official frontend pushes one id at a time):
 * - prompt interleave: while prompt speech remains and ≥ N text ids are cached (prompt text first), append N text +
 *   the next M prompt-speech rows; decoding starts only once all prompt speech is in the prefix;
 * - before decoding, if nothing was decided yet and only SOS is pending, or the last decision was FILL, N more text
 *   ids are needed (else wait for the next piece); after FILL they *replace* the pending rows (FILL is never fed);
 * - FILL is forced when `len(outTokens) == nextFillIndex`; any FILL sets `nextFillIndex = len(outTokens) + M + 1`
 *   (counted before appending) and ends the burst;
 * - when the text ends: pending rows ⊕ remaining text ⊕ TASK_ID, EOS allowed, decode until EOS. The pending rows
 *   after a FILL are the input of the call that produced it, so upstream feeds them a second time (re-feed quirk).
 */

import { invalidInput, TTSError } from '../../errors.ts';
import { checkIds } from '../../runtime/tensors.ts';
import type { LmSegment } from './sequence.ts';
import { rowCount, SOS_SEGMENT, TASK_SEGMENT } from './sequence.ts';

/** Token constants; structurally a subset of `ModelConstants['llm']`. */
export interface BistreamConfig {
  /** V: ids 0 … V−1 are speech tokens. */
  readonly speechTokenSize: number;
  /** EOS id (V). */
  readonly eosId: number;
  /** FILL id (V+2). */
  readonly fillId: number;
  /** [N text, M speech] interleave ratio. @defaultValue [5, 15] */
  readonly mixRatio: readonly number[];
}

/** Prompt of a bistream request (zero-shot prompt; both lists may be empty). */
export interface BistreamPrompt {
  /** Prompt transcript ids: they seed the text cache. */
  readonly promptTextIds: readonly number[];
  /** Prompt speech tokens, interleaved M at a time with N text ids. */
  readonly promptSpeechIds: readonly number[];
}

/** Behaviour switches of {@link BistreamMachine}. */
export interface BistreamOptions {
  /**
   * Feed the input of the call that produced the last FILL again at the start of the final call, as upstream does
   * (training sequences do not contain that duplicate). `false` starts the final call with the remaining text.
   *
   * @defaultValue true (upstream parity)
   */
  readonly refeedFillInput?: boolean;
}

/** Decoding phase of a step: streaming (EOS masked, FILL may end the burst) or final (EOS allowed). */
export type BistreamPhase = 'streaming' | 'final';

/** What the caller must do next. */
export type BistreamInstruction =
  | {
      /** Run the LM on `segments`, then {@link BistreamMachine.commit} a token. */
      readonly type: 'step';
      /** Rows to feed, in order. */
      readonly segments: readonly LmSegment[];
      /** Rows already fed (KV-cache length) = RoPE position of the first row. */
      readonly position: number;
      /** Streaming (text still arriving) or final (text ended, decode until EOS). */
      readonly phase: BistreamPhase;
      /** When set (FILL), commit this id without sampling; the LM call still has to run (it fills the cache). */
      readonly forcedToken: number | undefined;
      /** EOS masking flag for the sampler (true in the streaming phase, false in the final phase and when forced). */
      readonly ignoreEos: boolean;
    }
  | { /** Push the next text piece or call {@link BistreamMachine.endText}. */ readonly type: 'need-text' }
  | { /** EOS was committed. */ readonly type: 'done' };

/** Effect of a committed token. */
export type BistreamOutcome =
  | { /** A speech token to emit. */ readonly type: 'emit'; readonly token: number }
  | { /** FILL: the burst ends, more text is needed. */ readonly type: 'fill' }
  | { /** EOS in the final phase: done. */ readonly type: 'eos' };

type State = 'idle' | 'streaming' | 'final' | 'done';

/**
 * Step-driven bistream state machine (see the module comment for the rules).
 *
 * @example
 * ```ts
 * const m = new BistreamMachine({ promptTextIds, promptSpeechIds }, constants.llm);
 * m.pushText(piece);
 * for (let ins = m.next(); ins.type === 'step'; ins = m.next()) {
 *   const logp = logSoftmax(await lm(ins.segments, ins.position));
 *   m.commit(ins.forcedToken ?? sample(logp, m.history, ins.ignoreEos));
 * }
 * ```
 */
export class BistreamMachine {
  private readonly nText: number;
  private readonly nSpeech: number;
  private readonly cfg: BistreamConfig;
  private readonly refeed: boolean;
  private textCache: number[];
  private promptSpeech: number[];
  private pending: LmSegment[] = [SOS_SEGMENT];
  private readonly pieces: number[][] = [];
  private ended = false;
  private state: State = 'idle';
  private outstanding: Extract<BistreamInstruction, { type: 'step' }> | undefined;
  private readonly out: number[] = [];
  private fillIndex: number;
  private fed = 0;

  /**
   * @throws {TTSError} ERR_INVALID_INPUT for a bad mix ratio, inconsistent special ids or bad prompt ids.
   */
  constructor(prompt: BistreamPrompt, config: BistreamConfig, options: BistreamOptions = {}) {
    const [nText, nSpeech] = config.mixRatio;
    if (!isPositiveInt(nText) || !isPositiveInt(nSpeech)) {
      throw invalidInput(`mixRatio must be two positive integers, got [${config.mixRatio.join(', ')}].`);
    }
    if (!isPositiveInt(config.speechTokenSize)) throw invalidInput('speechTokenSize must be a positive integer.');
    for (const [name, id] of [
      ['eosId', config.eosId],
      ['fillId', config.fillId],
    ] as const) {
      if (!Number.isInteger(id) || id < config.speechTokenSize || id > config.speechTokenSize + 2) {
        throw invalidInput(`${name} ${id} must be in [V, V+2] with V = ${config.speechTokenSize}.`);
      }
    }
    checkIds(prompt.promptTextIds, 'promptTextIds', undefined);
    checkIds(prompt.promptSpeechIds, 'promptSpeechIds', config.speechTokenSize);
    this.nText = nText;
    this.nSpeech = nSpeech;
    this.cfg = config;
    this.refeed = options.refeedFillInput ?? true;
    this.textCache = [...prompt.promptTextIds];
    this.promptSpeech = [...prompt.promptSpeechIds];
    const p = this.promptSpeech.length;
    this.fillIndex = (Math.trunc(p / nSpeech) + 1) * nSpeech - p;
  }

  /** Every token decided so far (speech ids, FILL, EOS): the sampler's history, upstream `out_tokens`. */
  get history(): readonly number[] {
    return this.out;
  }

  /** Rows fed so far (= KV-cache length after the committed steps). */
  get position(): number {
    return this.fed;
  }

  /** `len(outTokens)` at which the next FILL is forced (upstream `next_fill_index`). */
  get nextFillIndex(): number {
    return this.fillIndex;
  }

  /** Text ids received but not yet fed. */
  get cachedTextCount(): number {
    return this.textCache.length + this.pieces.reduce((n, p) => n + p.length, 0);
  }

  /**
   * Queues one text piece (one iteration of the upstream text generator; may be a single id).
   *
   * @throws {TTSError} ERR_INVALID_INPUT after {@link BistreamMachine.endText} or for ids that are not non-negative integers.
   */
  pushText(ids: ArrayLike<number>): void {
    if (this.ended) throw invalidInput('pushText after endText.');
    const piece = Array.from(ids);
    checkIds(piece, 'text piece', undefined);
    this.pieces.push(piece);
  }

  /** Marks the end of the text stream (the upstream generator is exhausted). */
  endText(): void {
    this.ended = true;
  }

  /**
   * The next thing to do. Idempotent while a step is outstanding (returns the same instruction until committed).
   */
  next(): BistreamInstruction {
    if (this.outstanding !== undefined) return this.outstanding;
    if (this.state === 'done') return { type: 'done' };
    if (this.state === 'streaming') return this.issue('streaming');
    if (this.state === 'final') return this.issue('final');
    // idle: consume queued pieces one at a time, exactly like the upstream `for this_text in text` body
    for (let piece = this.pieces.shift(); piece !== undefined; piece = this.pieces.shift()) {
      this.textCache.push(...piece);
      this.interleavePrompt();
      if (this.promptSpeech.length > 0) continue;
      if (this.needsText()) {
        if (this.textCache.length < this.nText) continue; // "not enough text token to decode, wait for more"
        const text: LmSegment = { kind: 'text', ids: this.textCache.splice(0, this.nText) };
        this.pending = this.lastWasFill() ? [text] : [...this.pending, text];
      }
      this.state = 'streaming';
      return this.issue('streaming');
    }
    if (!this.ended) return { type: 'need-text' };
    // final phase: pending ⊕ remaining text ⊕ TASK_ID (remaining prompt speech, if any, is dropped as upstream does)
    const base = this.lastWasFill() && !this.refeed ? [] : this.pending;
    const rest: LmSegment[] = this.textCache.length > 0 ? [{ kind: 'text', ids: this.textCache.splice(0) }] : [];
    this.pending = [...base, ...rest, TASK_SEGMENT];
    this.state = 'final';
    return this.issue('final');
  }

  /**
   * Records the token decided after the outstanding step.
   *
   * @returns what to do with it: emit a speech token, FILL (burst over) or EOS (done).
   * @throws {TTSError} ERR_INVALID_INPUT with no outstanding step, for a token outside [0, V+3) or one that differs
   *   from a forced FILL; ERR_INFERENCE for a special id upstream treats as an error (streaming: V, V+1; final:
   *   V+1, V+2).
   */
  commit(token: number): BistreamOutcome {
    const step = this.outstanding;
    if (step === undefined) throw invalidInput('commit without an outstanding step; call next() first.');
    const v = this.cfg.speechTokenSize;
    if (!Number.isInteger(token) || token < 0 || token >= v + 3) {
      throw invalidInput(`Token ${token} is outside [0, ${v + 3}).`);
    }
    if (step.forcedToken !== undefined && token !== step.forcedToken) {
      throw invalidInput(`This step forces token ${step.forcedToken}, got ${token}.`);
    }
    this.outstanding = undefined;
    this.fed += rowCount(step.segments);
    const fill = this.cfg.fillId;
    if (step.phase === 'streaming') {
      if (token === fill) this.fillIndex = this.out.length + this.nSpeech + 1;
      this.out.push(token);
      if (token === fill) {
        this.state = 'idle'; // `pending` keeps this call's input (re-feed quirk)
        return { type: 'fill' };
      }
      if (token >= v) throw specialIdError(token, 'streaming');
    } else {
      this.out.push(token);
      if (token === this.cfg.eosId) {
        this.state = 'done';
        return { type: 'eos' };
      }
      if (token >= v) throw specialIdError(token, 'final');
    }
    this.pending = [{ kind: 'speech', ids: [token] }];
    return { type: 'emit', token };
  }

  private issue(phase: BistreamPhase): Extract<BistreamInstruction, { type: 'step' }> {
    const forced = phase === 'streaming' && this.out.length === this.fillIndex ? this.cfg.fillId : undefined;
    const instruction = {
      type: 'step',
      segments: this.pending,
      position: this.fed,
      phase,
      forcedToken: forced,
      ignoreEos: phase === 'streaming' && forced === undefined,
    } as const;
    this.outstanding = instruction;
    return instruction;
  }

  private interleavePrompt(): void {
    while (this.promptSpeech.length > 0 && this.textCache.length >= this.nText) {
      const text = this.textCache.splice(0, this.nText);
      const speech = this.promptSpeech.splice(0, this.nSpeech);
      this.pending = [...this.pending, { kind: 'text', ids: text }, { kind: 'speech', ids: speech }];
    }
  }

  private lastWasFill(): boolean {
    return this.out.length > 0 && this.out[this.out.length - 1] === this.cfg.fillId;
  }

  /** Upstream: `(out and out[-1] == FILL) or (not out and len(lm_input) == 1)`. */
  private needsText(): boolean {
    return this.out.length > 0 ? this.lastWasFill() : rowCount(this.pending) === 1;
  }
}

function specialIdError(token: number, phase: BistreamPhase): TTSError {
  return new TTSError('ERR_INFERENCE', `Bistream ${phase} phase: the LM produced special id ${token}.`, {
    details: { token, phase },
  });
}

function isPositiveInt(n: number | undefined): n is number {
  return n !== undefined && Number.isInteger(n) && n > 0;
}
