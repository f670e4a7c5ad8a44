/**
 * The public API in a second engine: Debian's Firefox ESR, cross-origin isolated, CosyVoice with its real workers on
 * WASM and the tiny fixture package, against the same reference goldens and tolerances as the Chromium suite
 * (test/browser/tts.browser.test.ts), and what `speak()` plays against `stream()` sample for sample
 * (test/browser/played-audio.browser.test.ts). One browser, one page, one load: the tests run in order on it.
 */
import type { Browser, Page } from 'puppeteer-core';
import { afterAll, afterEach, beforeAll, describe, expect, test } from 'vitest';
import { floats, ints, maxAbsDiff, need } from '../helpers/npz.ts';
import { explainPlayback } from '../helpers/played-audio.ts';
import { startServer, type TestServer } from '../browser/server.ts';
import { e2e, GOLDEN_VOICE, manifest, SEED, texts, VOICE, ZH } from '../browser/tiny-golden.ts';
import { launchFirefox, openTestPage } from './firefox.ts';
import { startNullSink, type NullSink } from './null-sink.ts';

/** The Chromium suite's tolerance against the reference audio on WASM. */
const TOLERANCE = 1e-4;
const PROMPT_URL = '/shared-data/prompts/zero_shot_prompt.wav';
const PROMPT_TEXT = texts['prompt']?.text ?? '';
/** Render quanta recorded after speak() resolves: more than the fade-out ramp (asserted), so all of it is seen. */
const TAIL_QUANTA = 4;
const RENDER_QUANTUM = 128;

describe('CosyVoice in Firefox ESR (WebDriver BiDi), cross-origin isolated, on WASM', () => {
  let server: TestServer | undefined;
  let sink: NullSink | undefined;
  let browser: Browser | undefined;
  let page: Page;
  let errors: Error[] = [];

  beforeAll(async () => {
    server = await startServer({ isolated: true });
    sink = await startNullSink();
    browser = await launchFirefox(sink.env);
    ({ page, errors } = await openTestPage(browser, server.url, 'tts'));
  });

  afterAll(async () => {
    await browser?.close();
    await sink?.stop();
    await server?.close();
  });

  afterEach(() => {
    expect(errors, 'uncaught errors in the page').toEqual([]);
  });

  const expectReferenceAudio = async (): Promise<void> => {
    const audio = await page.evaluate((text, seed) => window.tts.synthesize(text, seed), ZH, SEED);
    const reference = floats(need(e2e, 'offline_wave'));
    expect(audio.samples.length).toBe(reference.length);
    expect(maxAbsDiff(Float32Array.from(audio.samples), reference)).toBeLessThan(TOLERANCE);
  };

  test('create(): the tiny package loads on WASM in a cross-origin isolated page', async () => {
    expect(await page.evaluate(() => window.tts.isolated())).toBe(true);
    const created = await page.evaluate(() => window.tts.create({ device: 'wasm', dtype: 'fp32' }));
    expect(created.ok, created.ok ? '' : created.message).toBe(true);
    if (!created.ok) return;
    const stages = Object.values(created.placement);
    expect(stages.length).toBeGreaterThan(0);
    expect(stages.map((p) => p.device)).toEqual(stages.map(() => 'wasm'));
    expect(created.events.at(-1)?.['type']).toBe('ready');
  });

  test('cloneVoice() from the real prompt recording gives the reference voice', async () => {
    const cloned = await page.evaluate((url, text) => window.tts.clone(url, text), PROMPT_URL, PROMPT_TEXT);
    expect(cloned.promptTokens).toEqual(Array.from(GOLDEN_VOICE.promptTokens));
    expect(maxAbsDiff(Float32Array.from(cloned.embedding), GOLDEN_VOICE.embedding)).toBeLessThan(TOLERANCE);
  });

  test('synthesize() gives the reference audio for the seed', async () => {
    await page.evaluate((bytes) => window.tts.loadVoice(bytes), VOICE);
    await expectReferenceAudio();
  });

  test('stream() gives the reference chunks', async () => {
    const streamed = await page.evaluate((text, seed) => window.tts.stream(text, seed), ZH, SEED);
    expect(streamed.chunks.map((c) => c.length)).toEqual(ints(need(e2e, 'stream_chunk_samples')));
    const reference = floats(need(e2e, 'stream_wave'));
    expect(maxAbsDiff(Float32Array.from(streamed.chunks.flat()), reference)).toBeLessThan(TOLERANCE);
    expect(streamed.meta.map((m) => m.final)).toEqual(streamed.chunks.map((_, i) => i === streamed.chunks.length - 1));
  });

  test('a request aborted while the LM works rejects with AbortError, then the same instance speaks', async () => {
    const aborted = await page.evaluate(
      (text, seed) => window.tts.trySynthesize(text, seed, 'started'),
      ZH.repeat(6),
      SEED,
    );
    expect(aborted.ok ? 'resolved' : aborted.code).toBe('AbortError');
    await expectReferenceAudio();
  });

  test('bad input is a typed TTSError that says what is allowed', async () => {
    const misused = await page.evaluate((url, text) => window.tts.tryClone(url, text, 'typo'), PROMPT_URL, PROMPT_TEXT);
    expect(misused.ok ? 'resolved' : misused.code).toBe('ERR_INVALID_INPUT');
    if (!misused.ok) expect(misused.message).toMatch(/Did you mean "transcript"\?/);
  });

  test('speak() plays exactly what stream() yields, through the SharedArrayBuffer ring', async () => {
    const text = `${ZH}${ZH}`;
    const streamed = await page.evaluate((t, seed) => window.tts.stream(t, seed), text, SEED);
    expect(streamed.chunks.length).toBeGreaterThan(2); // several chunks: boundaries between them are covered
    const source = Float32Array.from(streamed.chunks.flat());
    const spoken = await page.evaluate(
      (t, seed, tail) => window.tts.speakCaptured(t, seed, tail),
      text,
      SEED,
      TAIL_QUANTA,
    );
    expect(spoken.error).toBeUndefined();
    expect(spoken.transport).toBe('sab');
    expect(spoken.contextRate).toBe(manifest.config.sampleRate); // no resampling: float32 in, the same out
    expect(TAIL_QUANTA * RENDER_QUANTUM).toBeGreaterThan(spoken.fadeFrames);
    const played = explainPlayback(Float32Array.from(spoken.recorded), source, spoken.fadeFrames);
    expect(played.mismatch).toBeUndefined();
    expect(played.consumed).toBe(source.length); // nothing lost; by the walk, nothing repeated or reordered
    expect(spoken.framesPlayed).toBe(source.length);
    expect(played.runs[0]?.at).toBeGreaterThan(0); // the recording began in silence, before the request
    // every restart followed an underrun the player reported (on a loaded machine the buffer may run dry)
    expect(played.runs.length - 1).toBeLessThanOrEqual(spoken.underruns);
    await page.evaluate(() => window.tts.dispose());
  });
});
