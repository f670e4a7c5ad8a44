/**
 * What the incremental flow tests share: the golden voice and tokens, the tiny package's flow runners, the longest
 * utterance its noise buffer allows, and the exactness bound.
 */
import { join } from 'node:path';

import type { FlowPrompt } from '../../../src/models/flow/flow-matcher.ts';
import { FlowMatcher } from '../../../src/models/flow/flow-matcher.ts';
import { IncrementalFlow } from '../../../src/models/flow/incremental-flow.ts';
import { loadOrt } from '../../../src/runtime/ort.ts';
import { floats, ints, need, readNpz } from '../../helpers/npz.ts';
import { GOLDEN, openPackageDir, TINY_PACKAGE } from '../../helpers/package.ts';

/** The exactness bound for streamed mel (the graph vs the full streaming solve measured ≤ 3.6e-6 in Python). */
export const MEL_TOLERANCE = 1e-5;

const e2e = readNpz(join(GOLDEN, 'e2e.npz'));
const voiceNpz = readNpz(join(GOLDEN, 'voice.npz'));

/** The golden utterance's speech tokens. */
export const tokens = ints(need(e2e, 'tokens'));

/** The golden voice's flow prompt. */
export const voice: FlowPrompt = {
  promptTokens: ints(need(voiceNpz, 'prompt_tokens')),
  promptFeat: floats(need(voiceNpz, 'prompt_feat')),
  embedding: floats(need(voiceNpz, 'embedding')),
};

/** The tiny package's fp32 flow runner and its incremental runner (release both when done). */
export async function loadTinyFlow(): Promise<{ flow: FlowMatcher; incremental: IncrementalFlow }> {
  const pkg = await openPackageDir(TINY_PACKAGE);
  const ort = await loadOrt('wasm');
  const flow = await FlowMatcher.create(pkg, ort, { device: 'wasm', dtype: 'fp32' });
  const incremental = await IncrementalFlow.create(flow, pkg, ort, { device: 'wasm', dtype: 'fp32' });
  if (incremental === undefined) throw new Error('the tiny package ships flow_step_incremental');
  return { flow, incremental };
}

/** The longest utterance the package's noise buffer allows after the voice's prompt (the golden tokens repeated). */
export function longestTokens(flow: FlowMatcher): number[] {
  const { noiseFrames, tokenMelRatio } = flow.config;
  const count = noiseFrames / tokenMelRatio - voice.promptTokens.length;
  return Array.from({ length: count }, (_, i) => tokens[i % tokens.length] ?? 0);
}
