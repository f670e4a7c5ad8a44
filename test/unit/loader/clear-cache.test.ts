/**
 * `CosyVoice.clearCache()` refuses what it cannot do with a typed error before touching anything: an unparsable
 * package source, and a realm without the Cache API (Node has none, as an insecure page has none). What it deletes
 * and the bytes it reports are checked against real Cache API contents in Chromium (demo.browser.test.ts).
 */
import { describe, expect, it } from 'vitest';
import { CosyVoice } from '../../../src/cosyvoice.ts';

describe('CosyVoice.clearCache', () => {
  it('refuses an empty model source as invalid input', async () => {
    await expect(CosyVoice.clearCache('  ')).rejects.toMatchObject({
      code: 'ERR_INVALID_INPUT',
      message: expect.stringMatching(/model source is empty/) as unknown,
    });
  });

  it.each([undefined, 'https://models.example/tiny/'])(
    'says there is no Cache API here (model %s) instead of resolving 0',
    async (model) => {
      expect((globalThis as { caches?: unknown }).caches).toBeUndefined();
      await expect(CosyVoice.clearCache(model)).rejects.toMatchObject({
        code: 'ERR_UNSUPPORTED_ENV',
        message: expect.stringMatching(/Cache API is not available here \(it needs a secure context/) as unknown,
      });
    },
  );
});
