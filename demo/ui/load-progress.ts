/** Download progress as a user reads it: megabytes, speed and time left (pure: times and byte counts in, text out). */
import { mb } from './dom.ts';

/** Tracks one model load; `describe()` gives e.g. "12.3 MB / 480.0 MB · 8.1 MB/s · 58 s left". */
export class LoadProgress {
  readonly #started: number;

  constructor(now: number) {
    this.#started = now;
  }

  describe(loaded: number, total: number, now: number): string {
    const seconds = (now - this.#started) / 1000;
    const speed = seconds > 0 ? loaded / seconds : 0;
    const left = speed > 0 ? (total - loaded) / speed : Infinity;
    const parts = [`${mb(loaded)} / ${mb(total)}`];
    if (speed > 0 && loaded < total) parts.push(`${mb(speed)}/s`, `${formatSeconds(left)} left`);
    return parts.join(' · ');
  }
}

function formatSeconds(seconds: number): string {
  if (!Number.isFinite(seconds)) return '?';
  if (seconds < 90) return `${Math.ceil(seconds)} s`;
  return `${Math.floor(seconds / 60)} min ${Math.ceil(seconds % 60)} s`;
}
