/** Test bundle of the voice stage worker (esbuild entry; see build-pages.ts). */
import '../../../workers/voice.worker.ts';
