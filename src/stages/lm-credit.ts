/**
 * The flow's side of the LM pacing (`schedule`, issue #11 item 5). The flow knows what its calls take and need (its
 * chunk policy), so it decides how far the LM may go and tells it with a {@link TokenCredit} back over the token port;
 * the LM only obeys (`token-gate.ts`). Counts are request totals, across segments.
 */
import type { Schedule } from '../request/schedule.ts';
import type { TokenCredit } from './protocol.ts';

/** Where the flow stands in a request, in tokens of the whole request. */
export interface FlowProgress {
  /** Tokens taken into flow calls (the call in progress included). */
  readonly consumed: number;
  /** Tokens the flow's next call needs before it can run (its chunk and look-ahead). */
  readonly needed: number;
  /** Whether the request's first chunk is out. */
  readonly firstChunkOut: boolean;
}

/**
 * Tokens the LM may have sent before its next LM call. With first-audio priority, until the first chunk is out:
 * exactly what the first call needs (the LM pauses while the flow solves it). Otherwise `consumed + lmLeadTokens`,
 * but never below `needed`, so the flow can always make its next call and the pacing cannot deadlock.
 */
export function lmTokenLimit(progress: FlowProgress, schedule: Schedule): number {
  if (schedule.firstAudioPriority && !progress.firstChunkOut) return progress.needed;
  return Math.max(progress.needed, progress.consumed + schedule.lmLeadTokens);
}

/** What {@link LmCredit} reads of a segment's `FlowStream`. */
export interface StreamProgress {
  readonly done: boolean;
  readonly tokenCount: number;
  readonly tokensNeeded: number;
}

/**
 * The flow's progress in one request, from the flow stage's events in segment terms (calls are planned per segment),
 * turned into request totals; posts the LM's limit whenever it grows.
 */
export class LmCredit {
  readonly #schedule: Schedule | undefined;
  readonly #post: (credit: Pick<TokenCredit, 'consumed' | 'limit'>) => void;
  #firstNeed = 0;
  #received = 0;
  #segmentStart = 0;
  #consumed = 0;
  #needed = 0;
  #firstChunkOut = false;
  #sent = 0;

  /**
   * @param schedule - the request's policy; `undefined`: the LM is not paced and nothing is posted
   * @param post - sends a credit to the LM
   */
  constructor(schedule: Schedule | undefined, post: (credit: Pick<TokenCredit, 'consumed' | 'limit'>) => void) {
    this.#schedule = schedule;
    this.#post = post;
  }

  /**
   * Posts the first credit: what the first call needs, known before any token arrives, so the LM does not wait a
   * round trip for its first token.
   *
   * @param firstNeed - tokens the first call of a segment needs (every segment's stream starts with the same
   *   schedule); `Infinity` for offline requests, whose flow needs whole segments
   */
  open(firstNeed: number): void {
    this.#firstNeed = firstNeed;
    this.#needed = firstNeed;
    this.#update();
  }

  /** A segment starts with the next token received. */
  segment(): void {
    this.#segmentStart = this.#received;
  }

  /** `count` tokens arrived. */
  received(count: number): void {
    this.#received += count;
  }

  /** A flow call on the segment's tokens up to `tokenEnd` starts. */
  start(call: { readonly tokenEnd: number }): void {
    this.#consumed = Math.max(this.#consumed, this.#segmentStart + call.tokenEnd);
    this.#update();
  }

  /** A flow call of `stream` is done and its chunk posted. */
  done(stream: StreamProgress): void {
    this.#firstChunkOut = true;
    // a finished segment's next call is the first of the next segment
    this.#needed = this.#segmentStart + (stream.done ? stream.tokenCount + this.#firstNeed : stream.tokensNeeded);
    this.#update();
  }

  /** Lets the LM run freely from now on (offline requests; a flow that stops reading tokens). */
  release(): void {
    this.#send(Infinity);
  }

  #update(): void {
    if (this.#schedule === undefined) return;
    const progress = { consumed: this.#consumed, needed: this.#needed, firstChunkOut: this.#firstChunkOut };
    this.#send(lmTokenLimit(progress, this.#schedule));
  }

  #send(limit: number): void {
    if (this.#schedule === undefined || limit <= this.#sent) return;
    this.#sent = limit;
    this.#post({ consumed: this.#consumed, limit });
  }
}
