/**
 * Failures on documented entry paths are TTSErrors with stable codes (issue #13.3): WAV decoding for cloning, an
 * invalid manifest in the Node package opener.
 */
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { decodeAudioInput } from '../../../src/core/audio-input.ts';
import { fromDspError, TTSError } from '../../../src/errors.ts';
import { openModelDir } from '../../../tools/cli/node-package.ts';

/** A RIFF/WAVE header with nothing after it (no fmt, no data chunk). */
function headerOnlyWav(): Uint8Array {
  const bytes = new Uint8Array(12);
  bytes.set(new TextEncoder().encode('RIFF'), 0);
  new DataView(bytes.buffer).setUint32(4, 4, true);
  bytes.set(new TextEncoder().encode('WAVE'), 8);
  return bytes;
}

describe('typed errors at the entry points', () => {
  it('a WAV without its chunks is ERR_INVALID_INPUT (a TTSError), not a plain Error with a code', async () => {
    const padded = new Uint8Array(16);
    padded.set(headerOnlyWav());
    const error = await decodeAudioInput(padded).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TTSError);
    expect((error as TTSError).code).toBe('ERR_INVALID_INPUT');
    expect((error as TTSError).message).not.toMatch(/^ERR_INVALID_INPUT: /);
  });

  it('fromDspError keeps other errors as they are', () => {
    const plain = new Error('x');
    expect(fromDspError(plain)).toBe(plain);
    const typed = new TTSError('ERR_INFERENCE', 'y');
    expect(fromDspError(typed)).toBe(typed);
  });

  it('an invalid manifest.json in the Node opener is ERR_MODEL_FORMAT naming the file', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'cosyvoice-manifest-'));
    await writeFile(join(dir, 'manifest.json'), '{ "format": ');
    const error = await openModelDir(dir).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TTSError);
    expect((error as TTSError).code).toBe('ERR_MODEL_FORMAT');
    expect((error as TTSError).message).toContain(join(dir, 'manifest.json'));
  });
});
