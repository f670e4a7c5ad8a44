/** Which LM request and flow prompt a synthesis uses (spec §1.2 mode table), shared by the engine and the stages. */
import type { FlowPrompt } from '../models/flow/flow-matcher.ts';
import type { BistreamPrompt } from '../models/lm/bistream.ts';
import type { LmRequest } from '../models/lm/sequence.ts';
import type { CosyVoiceTokenizer } from '../text/index.ts';
import type { SynthesisOptions } from './options.ts';
import { instructionIds } from './text-input.ts';

/** The parts of a voice the LM sees. */
export interface LmVoice {
  readonly promptTextIds: ArrayLike<number>;
  readonly promptTokens: ArrayLike<number>;
}

/**
 * The LM request for one segment: instruct2 when an instruction is given, SFT for a voice without prompt speech,
 * cross-lingual when asked or when the voice has no transcript, zero-shot otherwise.
 */
export function lmRequestFor(
  textIds: ArrayLike<number>,
  voice: LmVoice,
  options: Pick<SynthesisOptions, 'instruct' | 'crossLingual'>,
  tokenizer: CosyVoiceTokenizer,
): LmRequest {
  const ids = Array.from(textIds);
  if (options.instruct !== undefined) {
    return { mode: 'instruct2', textIds: ids, instructionIds: Array.from(instructionIds(options.instruct, tokenizer)) };
  }
  if (voice.promptTokens.length === 0) return { mode: 'sft', textIds: ids };
  if (options.crossLingual === true || voice.promptTextIds.length === 0) return { mode: 'cross-lingual', textIds: ids };
  return {
    mode: 'zero-shot',
    textIds: ids,
    promptTextIds: Array.from(voice.promptTextIds),
    promptSpeechIds: Array.from(voice.promptTokens),
  };
}

/** The bistream prompt (spec §4.6): the zero-shot prompt, or empty for cross-lingual / SFT voices. */
export function bistreamPromptFor(voice: LmVoice, options: Pick<SynthesisOptions, 'crossLingual'>): BistreamPrompt {
  const zeroShot = voice.promptTokens.length > 0 && voice.promptTextIds.length > 0 && options.crossLingual !== true;
  return zeroShot
    ? { promptTextIds: Array.from(voice.promptTextIds), promptSpeechIds: Array.from(voice.promptTokens) }
    : { promptTextIds: [], promptSpeechIds: [] };
}

/** The flow's view of a voice. */
export function flowPromptFor(voice: {
  readonly promptTokens: ArrayLike<number>;
  readonly promptFeat: Float32Array;
  readonly embedding: ArrayLike<number>;
}): FlowPrompt {
  return { promptTokens: voice.promptTokens, promptFeat: voice.promptFeat, embedding: voice.embedding };
}
