/** Test bundle of the flow stage worker (esbuild entry; see build-pages.ts). */
import '../../../workers/flow.worker.ts';
