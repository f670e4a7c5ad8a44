/** Stage worker hosting the voice stage (see src/stages/stage-worker.ts). */
import { exposeStageWorker } from './shared/expose.ts';

exposeStageWorker(['voice']);
