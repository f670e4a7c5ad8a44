/** The lm stage worker of the browser benchmark page (esbuild entry, see tools/bench/browser.ts). */
import '../../../workers/lm.worker.ts';
