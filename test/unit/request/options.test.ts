import { describe, expect, it } from 'vitest';
import { TTSError } from '../../../src/errors.ts';
import { RAS_VARIANTS } from '../../../src/models/lm/sampler.ts';
import { MAX_SEED, validateRequestOptions } from '../../../src/request/options.ts';

function failure(options: unknown, mode: 'offline' | 'stream' = 'offline'): TTSError {
  try {
    validateRequestOptions(options, mode);
  } catch (error) {
    expect(error).toBeInstanceOf(TTSError);
    expect((error as TTSError).code).toBe('ERR_INVALID_INPUT');
    return error as TTSError;
  }
  throw new Error(`accepted: ${JSON.stringify(options)}`);
}

describe('validateRequestOptions', () => {
  it('accepts every documented option with good values (and undefined as absent)', () => {
    expect(() => {
      validateRequestOptions(
        {
          voice: {},
          seed: MAX_SEED,
          instruct: 'Speak slowly.',
          crossLingual: false,
          speed: 1.5,
          normalize: true,
          readNumbers: false,
          sampling: { variant: RAS_VARIANTS[0], eosRule: undefined },
          flowSteps: 4,
          signal: new AbortController().signal,
          streaming: undefined,
        },
        'offline',
      );
      validateRequestOptions({ streaming: { tokenHop: 25, firstHop: 10, firstChunkFlowSteps: 5 } }, 'stream');
      validateRequestOptions({ streaming: { firstHop: 'pad' } }, 'stream');
    }).not.toThrow();
  });

  it('refuses an unknown key with the closest known one', () => {
    const error = failure({ seeed: 3 });
    expect(error.message).toContain('options.seeed');
    expect(error.message).toContain('Did you mean "seed"?');
    expect(failure({ streaming: { firstHopp: 3 } }, 'stream').message).toContain('Did you mean "firstHop"?');
    expect(failure({ sampling: { eos: 'x' } }).message).toContain('options.sampling.eos');
    // nothing close: no guess, but the list of known options
    const far = failure({ zzzzzzzz: 1 });
    expect(far.message).not.toContain('Did you mean');
    expect(far.message).toContain('seed');
  });

  it('refuses null, arrays and non-objects as the options', () => {
    for (const bad of [null, [], 'seed', 3]) expect(failure(bad).message).toMatch(/^options must be an object/);
  });

  it('refuses wrong types with what was given and what is allowed', () => {
    expect(failure({ signal: 'yes' }).message).toContain('options.signal must be an AbortSignal');
    expect(failure({ normalize: 'no' }).message).toContain('options.normalize must be true or false');
    expect(failure({ voice: null }).message).toContain('options.voice must be a VoiceProfile');
    expect(failure({ instruct: 5 }).message).toContain('options.instruct must be a non-empty string');
    expect(failure({ sampling: { variant: 'greedy' } }).message).toContain('options.sampling.variant must be one of');
    expect(failure({ streaming: { tokenHop: '25' } }, 'stream').message).toContain('must be a number');
    expect(failure({ streaming: { firstHop: 'grid' } }, 'stream').message).toContain(
      "options.streaming.firstHop must be a number or 'pad', got",
    );
  });

  it('keeps seed + 1 a safe integer: the largest seed is 2^53 − 2', () => {
    expect(MAX_SEED + 1).toBe(Number.MAX_SAFE_INTEGER);
    expect(failure({ seed: MAX_SEED + 1 }).message).toContain('options.seed');
    expect(failure({ seed: -1 }).message).toContain('options.seed');
    expect(failure({ seed: 1.5 }).message).toContain('options.seed');
  });

  it('checks the streaming schedule and flow steps up front', () => {
    expect(failure({ streaming: { tokenHop: 0 } }, 'stream').message).toContain('tokenHop');
    expect(failure({ streaming: { firstChunkFlowSteps: 99 } }, 'stream').message).toContain(
      'options.streaming.firstChunkFlowSteps',
    );
    expect(failure({ flowSteps: 0 }).message).toContain('options.flowSteps');
    expect(failure({ speed: 1.25 }, 'stream').message).toContain('only supported by synthesize()');
    expect(failure({ speed: 9 }).message).toContain('[0.5, 2]');
  });

  it('checks the LM pacing (schedule): a boolean or known keys with an integer lead ≥ 0 or Infinity', () => {
    for (const ok of [true, false, {}, { lmLeadTokens: 0 }, { lmLeadTokens: Infinity, firstAudioPriority: false }]) {
      expect(() => {
        validateRequestOptions({ schedule: ok }, 'stream');
      }).not.toThrow();
    }
    expect(failure({ schedule: { lmLeadToken: 50 } }, 'stream').message).toContain('Did you mean "lmLeadTokens"?');
    for (const bad of [-1, 2.5, NaN, '100', null]) {
      expect(failure({ schedule: { lmLeadTokens: bad } }, 'stream').message).toContain(
        'options.schedule.lmLeadTokens must be an integer ≥ 0 or Infinity',
      );
    }
    expect(failure({ schedule: { firstAudioPriority: 1 } }, 'stream').message).toContain(
      'options.schedule.firstAudioPriority must be true or false',
    );
    expect(failure({ schedule: 'off' }, 'stream').message).toContain('options.schedule must be an object');
  });
});
