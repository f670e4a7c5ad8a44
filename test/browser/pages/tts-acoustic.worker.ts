/** Test bundle of the acoustic stage worker (esbuild entry; see build-pages.ts). */
import '../../../workers/acoustic.worker.ts';
