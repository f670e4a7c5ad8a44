/**
 * Recording a voice in the built demo from Chromium's fake microphone, which plays the shared zero-shot prompt in a
 * loop: record, trim, clone (cross-lingual: no transcript), save; the saved prompt must be that recording.
 */
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { decodeWav, encodeWav } from '../../src/dsp/index.ts';
import { ISOLATED_STATUS, PROMPT, loadTinyModel } from './demo-page.ts';
import { expect, test as base } from './fixtures.ts';

/** The prompt as 16-bit PCM WAV, the format Chromium's fake capture device reads. */
const source = decodeWav(readFileSync(PROMPT));
const FAKE_CAPTURE = join(mkdtempSync(join(tmpdir(), 'fake-mic-')), 'prompt.wav');
writeFileSync(FAKE_CAPTURE, encodeWav(source.samples, source.sampleRate));

const test = base.extend({
  launchOptions: [
    async ({ launchOptions }, use) => {
      await use({
        ...launchOptions,
        args: [
          ...(launchOptions.args ?? []),
          '--use-fake-ui-for-media-stream',
          '--use-fake-device-for-media-stream',
          `--use-file-for-fake-audio-capture=${FAKE_CAPTURE}`,
        ],
      });
    },
    { scope: 'worker' },
  ],
});

/** Mean of each `factor` consecutive samples (a crude low-pass and decimation, enough to line two signals up). */
function decimate(samples: Float32Array, factor: number): Float32Array {
  const out = new Float32Array(Math.floor(samples.length / factor));
  for (let i = 0; i < out.length; i++) {
    let sum = 0;
    for (let k = 0; k < factor; k++) sum += samples[i * factor + k] as number;
    out[i] = sum / factor;
  }
  return out;
}

/** Highest normalised cross-correlation of `part` against every position of `whole` played in a loop. */
function bestCorrelation(part: Float32Array, whole: Float32Array): number {
  let partEnergy = 0;
  for (const x of part) partEnergy += x * x;
  let best = 0;
  for (let lag = 0; lag < whole.length; lag++) {
    let dot = 0;
    let energy = 0;
    for (let i = 0; i < part.length; i++) {
      const y = whole[(lag + i) % whole.length] as number;
      dot += (part[i] as number) * y;
      energy += y * y;
    }
    best = Math.max(best, dot / Math.sqrt(partEnergy * energy + 1e-20));
  }
  return best;
}

test('@not-isolated-only a voice recorded from the microphone is trimmed, cloned, saved, and is that recording', async ({
  page,
  server,
}) => {
  test.setTimeout(240_000);
  await page.goto(`${server.url}/demo/`);
  await expect(page.locator('#app-status')).toHaveText(ISOLATED_STATUS);
  await loadTinyModel(page);
  await page.click('#record');
  await expect(page.locator('#record')).toHaveText('Stop recording');
  await expect(page.locator('#record-time')).toHaveText(/^([5-9]|10)\.\d s$/, { timeout: 30_000 });
  expect(await page.locator('#level').evaluate((meter: HTMLMeterElement) => meter.value)).toBeGreaterThan(0);
  await page.click('#record');
  await expect(page.locator('#prompt-status')).toHaveText(/^\d+\.\d s of speech \(trimmed/);
  await page.click('#clone');
  await expect(page.locator('#voice-status')).toHaveText(
    /^Voice ready: \d+\.\d s prompt, cross-lingual \(no transcript\)\.$/,
    {
      timeout: 60_000,
    },
  );
  await page.fill('#voice-name', 'Microphone');
  await page.click('#save-voice');
  await expect(page.locator('#voice-list .voice-name')).toHaveText(['Microphone']);

  const saved = await page.evaluate(
    () =>
      new Promise<number[]>((resolve, reject) => {
        const open = indexedDB.open('cosyvoice-demo');
        open.onerror = () => {
          reject(open.error ?? new Error('indexedDB.open failed'));
        };
        open.onsuccess = () => {
          const all = open.result.transaction('voices').objectStore('voices').getAll();
          all.onerror = () => {
            reject(all.error ?? new Error('getAll failed'));
          };
          all.onsuccess = () => {
            const prompt = (all.result as { prompt?: Blob }[])[0]?.prompt;
            if (prompt === undefined) reject(new Error('no saved prompt'));
            else
              void prompt.arrayBuffer().then((bytes) => {
                resolve(Array.from(new Uint8Array(bytes)));
              });
          };
        };
      }),
  );
  const recorded = decodeWav(new Uint8Array(saved));
  expect(recorded.sampleRate % 8000).toBe(0);
  expect(source.sampleRate % 8000).toBe(0);
  const part = decimate(recorded.samples, recorded.sampleRate / 8000);
  const whole = decimate(source.samples, source.sampleRate / 8000);
  // Window by window (1 s each): the fake device restarts its loop with a gap of about 10 ms, so the recording as a
  // whole never lines up with the file at one lag. Each second of it must be found in the source nearly intact
  // (opus coding and resampling leave a normalised correlation of 0.97-0.99; another sound would give far less).
  const windows = Math.floor(part.length / 8000);
  expect(windows).toBeGreaterThanOrEqual(3);
  for (let w = 0; w < windows; w++) {
    expect(bestCorrelation(part.subarray(w * 8000, (w + 1) * 8000), whole), `second ${w}`).toBeGreaterThan(0.9);
  }
  // the browser's automatic gain is off: the level is the file's (measured 3 % apart; toBeCloseTo(1, 1) allows 5 %)
  const peak = (samples: Float32Array): number => samples.reduce((m, x) => Math.max(m, Math.abs(x)), 0);
  expect(peak(recorded.samples) / peak(source.samples)).toBeCloseTo(1, 1);
});
