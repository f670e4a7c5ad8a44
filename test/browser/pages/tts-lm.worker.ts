/** Test bundle of the lm stage worker (esbuild entry; see build-pages.ts). */
import '../../../workers/lm.worker.ts';
import { installCacheFaultOfUrl } from './cache-fault.ts';
import { announceSessions } from './session-count.ts';

// before any message can arrive, so before the worker's first cache write
installCacheFaultOfUrl(self.location.href);
announceSessions();
