/**
 * Engine.create releases every session it made when a later stage fails (issue #13.5), counted on onnxruntime
 * itself: every session created through a counting wrapper of the real module must have been released.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { Engine } from '../../../src/engine/engine.ts';
import { TTSError } from '../../../src/errors.ts';
import { ModelPackage } from '../../../src/runtime/model-package.ts';
import type { OrtModule } from '../../../src/runtime/ort.ts';
import { loadOrt } from '../../../src/runtime/ort.ts';
import { openPackageDir, TINY_PACKAGE } from '../../helpers/package.ts';

/** The real module, with every session's creation and release counted. */
function counting(ort: OrtModule): { ort: OrtModule; created: () => number; released: () => number } {
  let created = 0;
  let released = 0;
  const InferenceSession = {
    create: async (...args: Parameters<OrtModule['InferenceSession']['create']>) => {
      const session = await ort.InferenceSession.create(...args);
      created++;
      const release = session.release.bind(session);
      session.release = () => {
        released++;
        return release();
      };
      return session;
    },
  };
  return {
    ort: { ...ort, InferenceSession } as unknown as OrtModule,
    created: () => created,
    released: () => released,
  };
}

describe('Engine.create', () => {
  it('releases every session it made when the last stage fails (a corrupt vocoder graph)', async () => {
    const good = await openPackageDir(TINY_PACKAGE);
    const corrupt = new ModelPackage(good.manifest, {
      read: async (file) =>
        file.path.startsWith('hift_decoder')
          ? new Uint8Array(64).fill(7) // not an ONNX model: its session cannot be created
          : new Uint8Array(await readFile(join(TINY_PACKAGE, file.path))),
    });
    const ort = counting(await loadOrt('wasm'));
    const error = await Engine.create(corrupt, ort.ort, { device: 'wasm', dtype: 'fp32' }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TTSError);
    expect((error as TTSError).code).toBe('ERR_SESSION_CREATE');
    // the LM (embed_text, embed_speech, llm), the flow (encoder, step) and hift_f0 were made before the failure
    expect(ort.created()).toBeGreaterThanOrEqual(6);
    expect(ort.released()).toBe(ort.created());
  });

  it('a broken tokenizer.json is ERR_MODEL_FORMAT naming the file, and leaks nothing', async () => {
    const good = await openPackageDir(TINY_PACKAGE);
    const broken = new ModelPackage(good.manifest, {
      read: async (file) =>
        file.path === good.manifest.tokenizer
          ? new TextEncoder().encode('{"model": ')
          : new Uint8Array(await readFile(join(TINY_PACKAGE, file.path))),
    });
    const ort = counting(await loadOrt('wasm'));
    const error = await Engine.create(broken, ort.ort, { device: 'wasm', dtype: 'fp32' }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TTSError);
    expect((error as TTSError).code).toBe('ERR_MODEL_FORMAT');
    expect((error as TTSError).message).toContain(good.manifest.tokenizer);
    expect(ort.released()).toBe(ort.created());
  });

  it('a good package: nothing is released until dispose(), then everything', async () => {
    const ort = counting(await loadOrt('wasm'));
    const engine = await Engine.create(await openPackageDir(TINY_PACKAGE), ort.ort, { device: 'wasm', dtype: 'fp32' });
    expect(ort.created()).toBeGreaterThanOrEqual(7);
    expect(ort.released()).toBe(0);
    await engine.dispose();
    expect(ort.released()).toBe(ort.created());
  });
});
