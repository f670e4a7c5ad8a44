/** Stage worker hosting the vocoder stage (see src/stages/stage-worker.ts). */
import { exposeStageWorker } from './shared/expose.ts';

exposeStageWorker(['vocoder']);
