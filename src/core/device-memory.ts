/**
 * Remembers, per adapter and model, which stages failed their WebGPU self-test, so the next `create()` with
 * `device: 'auto'` goes straight to wasm instead of failing (and downloading the WebGPU variant) again.
 */
import type { Stage } from '../base/stages.ts';

/** localStorage key of the remembered decisions. */
export const DECISIONS_KEY = 'cosyvoice-web/device-decisions';

/** Remembered WebGPU fallbacks per adapter and model (the self-test result survives reloads). */
export function rememberedFallbacks(key: string): Partial<Record<Stage, string>> {
  try {
    const all = JSON.parse(globalThis.localStorage.getItem(DECISIONS_KEY) ?? '{}') as Record<
      string,
      Partial<Record<Stage, string>>
    >;
    return all[key] ?? {};
  } catch {
    return {};
  }
}

export function rememberFallback(key: string, stage: Stage, reason: string): void {
  try {
    const all = JSON.parse(globalThis.localStorage.getItem(DECISIONS_KEY) ?? '{}') as Record<
      string,
      Partial<Record<Stage, string>>
    >;
    all[key] = { ...all[key], [stage]: reason };
    globalThis.localStorage.setItem(DECISIONS_KEY, JSON.stringify(all));
  } catch {
    // storage unavailable (private mode, workers): the self-test simply runs again next time
  }
}
