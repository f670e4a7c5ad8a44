/** Download bookkeeping on the main thread: which files a stage needs, and aggregate progress events. */
import type { StorageFailure } from '../base/storage-failure.ts';
import type { LoadProgressEvent } from '../events.ts';
import type { Stage } from '../base/stages.ts';
import type { WorkerFileProgress } from '../stages/stage-worker.ts';

/** Files a stage needs for a dtype (graphs + tokenizer/noise); lives with the manifest, which `Engine` reads too. */
export { stageFiles } from '../loader/manifest.ts';

/**
 * Aggregates per-file worker progress into `file-progress` / `file-done` / `load-progress` events, and the caches'
 * failures (main thread and every worker) into one `storage` warning per load.
 */
export class LoadProgress {
  readonly #files = new Map<string, { loaded: number; total: number }>();
  #total = 0;
  #storageWarned = false;

  constructor(private readonly listener: ((event: LoadProgressEvent) => void) | undefined) {}

  start(files: ReadonlyArray<{ readonly stage: Stage; readonly file: string; readonly bytes: number }>): void {
    for (const f of files) this.#files.set(f.file, { loaded: 0, total: f.bytes });
    this.#total = [...this.#files.values()].reduce((n, f) => n + f.total, 0);
    this.listener?.({ type: 'load-start', totalBytes: this.#total, files });
  }

  /** What a worker reports while it loads: a file's progress, or its cache's failure. */
  fromWorker(p: WorkerFileProgress | StorageFailure): void {
    if ('reason' in p) this.storage(p);
    else this.file(p);
  }

  /** A cache failure: the first of the load becomes the `storage` warning (they all mean the same to the user). */
  storage(failure: StorageFailure): void {
    if (this.#storageWarned) return;
    this.#storageWarned = true;
    this.listener?.({ type: 'storage', reason: failure.reason, message: failure.message });
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
