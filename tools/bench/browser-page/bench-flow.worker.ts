/** The flow stage worker of the browser benchmark page (esbuild entry, see tools/bench/browser.ts). */
import '../../../workers/flow.worker.ts';
