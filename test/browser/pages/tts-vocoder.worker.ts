/** Test bundle of the vocoder stage worker (esbuild entry; see build-pages.ts). */
import '../../../workers/vocoder.worker.ts';
