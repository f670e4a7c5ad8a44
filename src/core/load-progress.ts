/** Download bookkeeping on the main thread: which files a stage needs, and aggregate progress events. */
import type { LoadProgressEvent } from '../events.ts';
import type { ModelManifest } from '../loader/manifest.ts';
import { stageGraphs, variantFiles } from '../loader/manifest.ts';
import type { Dtype, Stage } from '../base/stages.ts';
import type { WorkerFileProgress } from '../stages/stage-worker.ts';

/** Files a stage needs for a dtype (graphs + tokenizer/noise). */
export function stageFiles(manifest: ModelManifest, stage: Stage, dtype: Dtype): string[] {
  const files = stageGraphs(manifest, stage, dtype).flatMap((g) => variantFiles(manifest, g, dtype).map((f) => f.path));
  if (stage === 'lm') files.push(manifest.tokenizer);
  if (stage === 'flow') files.push(manifest.noise);
  return [...new Set(files)];
}

/** Aggregates per-file worker progress into `file-progress` / `file-done` / `load-progress` events. */
export class LoadProgress {
  readonly #files = new Map<string, { loaded: number; total: number }>();
  #total = 0;

  constructor(private readonly listener: ((event: LoadProgressEvent) => void) | undefined) {}

  start(files: ReadonlyArray<{ readonly stage: Stage; readonly file: string; readonly bytes: number }>): void {
    for (const f of files) this.#files.set(f.file, { loaded: 0, total: f.bytes });
    this.#total = [...this.#files.values()].reduce((n, f) => n + f.total, 0);
    this.listener?.({ type: 'load-start', totalBytes: this.#total, files });
  }

  file(p: WorkerFileProgress): void {
    const entry = this.#files.get(p.file) ?? { loaded: 0, total: p.total };
    entry.loaded = p.loaded;
    this.#files.set(p.file, entry);
    if (this.listener === undefined) return;
    this.listener({
      type: 'file-progress',
      stage: p.stage,
      file: p.file,
      loaded: p.loaded,
      total: p.total,
      fromCache: p.fromCache,
    });
    if (p.done) this.listener({ type: 'file-done', stage: p.stage, file: p.file, fromCache: p.fromCache });
    const loaded = [...this.#files.values()].reduce((n, f) => n + Math.min(f.loaded, f.total), 0);
    this.listener({
      type: 'load-progress',
      loaded,
      total: this.#total,
      fraction: this.#total > 0 ? loaded / this.#total : 1,
    });
  }
}
