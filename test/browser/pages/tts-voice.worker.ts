/** Test bundle of the voice stage worker (esbuild entry; see build-pages.ts). */
import '../../../workers/voice.worker.ts';
import { installCacheFaultOfUrl } from './cache-fault.ts';

// before any message can arrive, so before the worker's first cache write
installCacheFaultOfUrl(self.location.href);
