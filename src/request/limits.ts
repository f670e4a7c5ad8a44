/**
 * Limits that can be known before the LM runs (issue #13.5): the flow's CFM noise buffer bounds the mel it can
 * produce (prompt included), so a voice whose prompt leaves no room, or a text segment whose shortest possible
 * speech does not fit, is refused up front — not after seconds (or minutes) of LM work.
 */
import { invalidInput } from '../errors.ts';
import type { ModelConstants } from '../loader/manifest.ts';

/** The least speech a voice must leave room for: one streaming chunk of tokens (about a second). */
function roomTokens(config: ModelConstants): number {
  return config.flow.chunkTokens;
}

/** The mel frames the noise buffer allows for speech after a prompt of `promptTokens`. */
function framesAfterPrompt(promptTokens: number, config: ModelConstants): number {
  return config.flow.noiseFrames - promptTokens * config.tokenMelRatio;
}

/**
 * Checks that a voice prompt of `promptTokens` speech tokens leaves room to speak.
 *
 * @throws {TTSError} ERR_INVALID_INPUT with the longest usable prompt.
 */
export function checkPromptRoom(promptTokens: number, config: ModelConstants): void {
  const needed = roomTokens(config) * config.tokenMelRatio;
  if (framesAfterPrompt(promptTokens, config) < needed) {
    const maxTokens = Math.floor((config.flow.noiseFrames - needed) / config.tokenMelRatio);
    throw invalidInput(
      `The voice prompt is ${(promptTokens / config.tokenFrameRate).toFixed(1)} s long and leaves no room to speak: ` +
        `this model takes prompts of at most ${(maxTokens / config.tokenFrameRate).toFixed(1)} s.`,
      { promptTokens, maxPromptTokens: maxTokens },
    );
  }
}

/**
 * Checks that prompt audio of `seconds` can make a usable voice (before it is cloned).
 *
 * @throws {TTSError} ERR_INVALID_INPUT as {@link checkPromptRoom}.
 */
export function checkPromptAudio(seconds: number, config: ModelConstants): void {
  checkPromptRoom(Math.ceil(seconds * config.tokenFrameRate), config);
}

/**
 * Checks that the shortest speech the LM may produce for a segment of `textIds` ids (upstream's `min_len`, text ids ×
 * `minTokenTextRatio`) fits the noise buffer after the prompt.
 *
 * @throws {TTSError} ERR_INVALID_INPUT saying how long a segment may be with this voice.
 */
export function checkSegmentRoom(textIds: number, promptTokens: number, config: ModelConstants): void {
  const ratio = config.sampling.minTokenTextRatio;
  const minTokens = Math.ceil(textIds * ratio);
  const available = framesAfterPrompt(promptTokens, config);
  if (minTokens * config.tokenMelRatio > available) {
    const maxIds = Math.floor(available / config.tokenMelRatio / ratio);
    throw invalidInput(
      `A text segment of ${textIds} tokens needs at least ${minTokens} speech tokens, more than this voice and model ` +
        `can produce in one segment (at most ${maxIds} text tokens here). Split the text with punctuation, or use a ` +
        `shorter voice prompt.`,
      { textIds, maxTextIds: maxIds },
    );
  }
}
