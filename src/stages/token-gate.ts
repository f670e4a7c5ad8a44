/**
 * The LM's side of the pacing (`schedule`, issue #11 item 5): before every LM call the LM stage waits here until it
 * may produce another token, i.e. until it has sent fewer tokens than the flow's last credit allows
 * (`lm-credit.ts` decides the limits). The wait races the request's signal, so a cancel lands while the LM waits
 * just as it does between two steps; a flow that died is covered by that too, because the orchestrator cancels
 * every stage of a request whose stage crashed.
 */
import { raceAbort } from '../base/abort.ts';
import { now } from '../base/clock.ts';
import type { PortLike, TokenCredit } from './protocol.ts';

/** Tokens sent against the flow's credit, for one request. */
export class TokenGate {
  #limit: number;
  #sent = 0;
  #waitedMs = 0;
  #wake: (() => void) | undefined;

  /**
   * @param paced - whether the request is paced; if not, {@link TokenGate.ready} never waits. A paced gate starts
   *   shut: the flow's first credit opens it.
   */
  constructor(paced: boolean) {
    this.#limit = paced ? 0 : Infinity;
  }

  /** The flow's credit: the LM may have sent up to `limit` tokens (limits only grow; a lower one is stale). */
  grant(limit: number): void {
    if (limit <= this.#limit) return;
    this.#limit = limit;
    const wake = this.#wake;
    this.#wake = undefined;
    wake?.();
  }

  /** Counts a token sent to the flow. */
  sent(count = 1): void {
    this.#sent += count;
  }

  /** Tokens sent so far. */
  get sentTokens(): number {
    return this.#sent;
  }

  /** Milliseconds spent waiting so far (the LM's own time excludes them). */
  get waitedMs(): number {
    return this.#waitedMs;
  }

  /**
   * Resolves once another token may be produced (at once when the credit allows it).
   *
   * @throws the signal's reason when it aborts first
   */
  async ready(signal?: AbortSignal): Promise<void> {
    if (this.#sent < this.#limit) return;
    const start = now();
    try {
      while (this.#sent >= this.#limit) {
        await raceAbort(
          new Promise<void>((resolve) => {
            this.#wake = resolve;
          }),
          signal,
        );
      }
    } finally {
      this.#waitedMs += now() - start;
    }
  }
}

/**
 * The gate of a request whose LM end of the token port is `port`: fed by the flow's credits arriving there. Not
 * paced: a gate that never waits, and the port is left alone.
 */
export function gateOnPort(port: PortLike, paced: boolean): TokenGate {
  const gate = new TokenGate(paced);
  if (paced) {
    // credits are the only messages that travel back on the token port
    port.onmessage = (event: MessageEvent) => {
      gate.grant((event.data as TokenCredit).limit);
    };
    port.start?.();
  }
  return gate;
}
