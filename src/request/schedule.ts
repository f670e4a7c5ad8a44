/**
 * The `schedule` request option (issue #11 item 5): how the LM and the flow share the machine in a streaming request.
 * In the browser they run in separate workers; on a few cores an LM decoding at full speed slows the flow's first
 * chunk down (measured: first audio after 38.3 s against 20.1 s when the stages take turns). The flow therefore paces
 * the LM with acks over the token port (`stages/lm-credit.ts`, `stages/token-gate.ts`): priority to the flow until the
 * first chunk is out, then a bounded lead.
 */
/**
 * How the LM is paced by the flow in a streaming request. Offline requests are never paced (the flow needs whole
 * segments). The policy changes when tokens are produced, never which: tokens and audio are the same for a seed.
 */
export interface ScheduleOptions {
  /**
   * Until the request's first chunk is out, the LM pauses once the flow holds that chunk's tokens and look-ahead, so
   * the flow gets the cores the LM's next tokens would take. On many cores it delays the LM by at most the first
   * chunk's flow call. @defaultValue true
   */
  readonly firstAudioPriority?: boolean;
  /**
   * The most speech tokens the LM may run ahead of those the flow has taken into its calls; beyond it the LM waits
   * for the flow's ack. Never below what the flow's next call needs, so the bound cannot stall the flow, and it only
   * bites when the flow is slower than the LM. A non-negative integer, or `Infinity` for no bound.
   * @defaultValue 100 (upstream's largest hop: while the flow solves one call, the LM can make the next one's tokens)
   */
  readonly lmLeadTokens?: number;
}

/**
 * Default of {@link ScheduleOptions.lmLeadTokens}: upstream's largest hop (4 s of speech), so while the flow solves
 * one call the LM can make every token of the next one, and the flow never waits for the LM because of the bound.
 */
export const DEFAULT_LM_LEAD_TOKENS = 100;

/** The policy of a request with defaults applied; `undefined` when the LM is not paced at all. */
export interface Schedule {
  readonly firstAudioPriority: boolean;
  readonly lmLeadTokens: number;
}

/**
 * The policy of `schedule` (`true` or absent: the defaults; `false`: none).
 *
 * @returns `undefined` when nothing is paced (`false`, or no first-audio priority and no bound), else the policy
 */
export function resolveSchedule(schedule: ScheduleOptions | boolean | undefined): Schedule | undefined {
  if (schedule === false) return undefined;
  const options = schedule === true || schedule === undefined ? {} : schedule;
  const resolved = {
    firstAudioPriority: options.firstAudioPriority ?? true,
    lmLeadTokens: options.lmLeadTokens ?? DEFAULT_LM_LEAD_TOKENS,
  };
  return !resolved.firstAudioPriority && resolved.lmLeadTokens === Infinity ? undefined : resolved;
}
