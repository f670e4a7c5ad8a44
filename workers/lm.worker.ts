/** Stage worker hosting the lm stage (see src/stages/stage-worker.ts). */
import { exposeStageWorker } from './shared/expose.ts';

exposeStageWorker(['lm']);
