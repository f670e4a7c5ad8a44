/**
 * The player module outside a browser: importing it is side-effect free (SSR-safe), and `create` rejects with typed
 * errors before touching Web Audio: invalid options, the ring transport without isolation, and no Web Audio at all.
 * Also the writer descriptor validation of `openPlaybackWriter`.
 */
import { describe, expect, it } from 'vitest';
import { TTSError } from '../../../src/errors.ts';

async function codeOf(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
    return 'resolved';
  } catch (error) {
    return error instanceof TTSError ? error.code : String(error);
  }
}

describe('AudioPlayer outside a browser', () => {
  it('imports without touching DOM globals', async () => {
    expect(typeof (globalThis as { AudioContext?: unknown }).AudioContext).toBe('undefined');
    const module = await import('../../../src/audio/player.ts');
    expect(module.PLAYER_DEFAULTS).toEqual({
      sampleRate: 24000,
      latencyHint: 'interactive',
      transport: 'auto',
      bufferSeconds: 20,
      prerollMs: 100,
      fadeMs: 5,
    });
    expect(Object.isFrozen(module.PLAYER_DEFAULTS)).toBe(true);
  });

  it('create rejects with typed errors', async () => {
    const { AudioPlayer } = await import('../../../src/audio/player.ts');
    expect(await codeOf(AudioPlayer.create({ sampleRate: 0 }))).toBe('ERR_INVALID_INPUT');
    expect(await codeOf(AudioPlayer.create({ bufferSeconds: Number.NaN }))).toBe('ERR_INVALID_INPUT');
    expect(await codeOf(AudioPlayer.create({ prerollMs: -1 }))).toBe('ERR_INVALID_INPUT');
    expect(await codeOf(AudioPlayer.create({ transport: 'ring' as 'sab' }))).toBe('ERR_INVALID_INPUT');
    expect(await codeOf(AudioPlayer.create({ transport: 'sab' }))).toBe('ERR_NOT_ISOLATED');
    expect(await codeOf(AudioPlayer.create())).toBe('ERR_UNSUPPORTED_ENV');
  });

  it('openPlaybackWriter rejects malformed descriptors', async () => {
    const { openPlaybackWriter } = await import('../../../src/audio/port-transport.ts');
    const bad = { transport: 'tcp' } as unknown as Parameters<typeof openPlaybackWriter>[0];
    expect(() => openPlaybackWriter(bad)).toThrow(/unknown transport "tcp"/);
    const { port1, port2 } = new MessageChannel();
    expect(() =>
      openPlaybackWriter({
        transport: 'port',
        port: port1,
        writerId: 1,
        maxQueuedFrames: 0,
        maxChunks: 1,
        sampleRate: 1,
      }),
    ).toThrow(/positive integers/);
    port1.close();
    port2.close();
  });
});
