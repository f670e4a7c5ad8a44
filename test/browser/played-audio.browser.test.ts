/**
 * The played audio is the audio: what the playback worklet actually outputs during `speak()` (recorded by a worklet
 * node after it, test/helpers/playback-capture.ts) is `stream()`'s audio for the same text, voice and seed, sample
 * for sample — on the SharedArrayBuffer ring (`isolated` project) and on the MessagePort transport (`not-isolated`).
 * The player's context runs at the source rate (24 kHz), so nothing is resampled and no tolerance applies: float32
 * in, the same float32 out. The only values that are not source frames are the player's documented silences and
 * fades, which test/helpers/played-audio.ts reproduces with the worklet's own arithmetic.
 */
import { explainPlayback, type PlayedAudio } from '../helpers/played-audio.ts';
import { tinyFixture } from '../helpers/voice.ts';
import { expect, sharedPage, test } from './fixtures.ts';

const { manifest, texts, voiceFile } = tinyFixture();
const ZH = texts['zh'] ?? '';
const SEED = 5;
/** Render quanta recorded after speak() resolves: more than the fade-out ramp (asserted), so all of it is seen. */
const TAIL_QUANTA = 4;
const RENDER_QUANTUM = 128;

type Spoken = Awaited<ReturnType<Window['tts']['speakCaptured']>>;

/** Checks what every capture must show and explains the recording against `source`. */
function explain(spoken: Spoken, source: Float32Array, isolated: boolean): PlayedAudio {
  expect(spoken.error).toBeUndefined();
  expect(spoken.transport).toBe(isolated ? 'sab' : 'port');
  expect(spoken.contextRate).toBe(manifest.config.sampleRate); // no resampling anywhere
  expect(TAIL_QUANTA * RENDER_QUANTUM).toBeGreaterThan(spoken.fadeFrames);
  const played = explainPlayback(Float32Array.from(spoken.recorded), source, spoken.fadeFrames);
  const seconds = (n: number) => (n / manifest.config.sampleRate).toFixed(1);
  console.log(
    `${spoken.transport}: ${seconds(source.length)} s of stream() audio in ${played.runs.length} run(s), ` +
      `${seconds(spoken.recorded.length)} s recorded, ${spoken.underruns} underrun(s)`,
  );
  expect(played.mismatch).toBeUndefined();
  // nothing lost; by the walk, nothing repeated or reordered either
  expect(played.consumed).toBe(source.length);
  expect(spoken.framesPlayed).toBe(source.length);
  expect(played.runs[0]?.at).toBeGreaterThan(0); // the recording began in silence, before the request
  // every restart followed an underrun the player reported (the last run may end in one too, when the end mark
  // arrives after the last frame played)
  expect(played.runs.length - 1).toBeLessThanOrEqual(spoken.underruns);
  expect(spoken.underruns).toBeLessThanOrEqual(played.runs.length);
  return played;
}

test.describe('speak() plays exactly what stream() yields', () => {
  // Each test synthesises its text twice (stream(), then speak()) and plays it in real time: measured 2.2–2.9 min
  // on a 2-core machine shared with six other sessions, at the global 180 s budget.
  test.describe.configure({ timeout: 600_000 });
  // one page with the tiny model and the golden voice loaded for both tests
  const shared = sharedPage('tts');
  test.beforeAll(async () => {
    await shared().evaluate(() => window.tts.create({ device: 'wasm', dtype: 'fp32' }));
    await shared().evaluate((bytes) => window.tts.loadVoice(bytes), voiceFile);
  });

  test('straight through: silence, then every sample of the stream in order, then the documented fade-out', async ({
    isolated,
  }) => {
    const page = shared();
    const text = `${ZH}${ZH}`;
    const streamed = await page.evaluate(({ text, seed }) => window.tts.stream(text, seed), { text, seed: SEED });
    expect(streamed.chunks.length).toBeGreaterThan(2); // several chunks: boundaries between them are covered
    const spoken = await page.evaluate(({ text, seed, tail }) => window.tts.speakCaptured(text, seed, tail), {
      text,
      seed: SEED,
      tail: TAIL_QUANTA,
    });
    // On a loaded machine the buffer may also run dry between chunks: the walk accounts for those gaps exactly.
    explain(spoken, Float32Array.from(streamed.chunks.flat()), isolated);
  });

  test('a forced underrun: the gap is a fade-out and silence, then playback resumes at the next sample, faded in', async ({
    isolated,
  }) => {
    const page = shared();
    // A text stream held after its opening until the player reports an underrun: synthesis waits for text, the
    // buffer runs dry, and only then does the rest arrive. The same pieces streamed without the hold are the source.
    // The opening must make at least one chunk on its own (the prompt's speech tokens absorb text first, see the
    // engine's bistream test): four times the sentence, and a space that flushes the last word.
    const opening = [ZH.repeat(4), ' '];
    const rest = [ZH];
    const streamed = await page.evaluate(({ pieces, seed }) => window.tts.stream(pieces, seed), {
      pieces: [...opening, ...rest],
      seed: SEED,
    });
    const spoken = await page.evaluate(
      ({ opening, rest, seed, tail }) => window.tts.speakCaptured({ opening, rest }, seed, tail),
      { opening, rest, seed: SEED, tail: TAIL_QUANTA },
    );
    expect(spoken.underrunsBeforeRelease).toBeGreaterThanOrEqual(1); // the text was held until the gap happened
    const played = explain(spoken, Float32Array.from(streamed.chunks.flat()), isolated);
    expect(played.runs.length).toBeGreaterThanOrEqual(2);
    // the gap is real silence: between the first run's fade-out and the second run, the recording is all zeros
    const [first, second] = played.runs;
    if (first === undefined || second === undefined) throw new Error('unreachable: two runs asserted above');
    const gap = spoken.recorded.slice(first.at + first.length + spoken.fadeFrames, second.at);
    expect(gap.length).toBeGreaterThan(0);
    expect(gap.every((x) => x === 0)).toBe(true);
  });
});
