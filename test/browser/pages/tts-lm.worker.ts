/** Test bundle of the lm stage worker (esbuild entry; see build-pages.ts). */
import '../../../workers/lm.worker.ts';
