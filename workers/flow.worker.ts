/** Stage worker hosting the flow stage (see src/stages/stage-worker.ts). */
import { exposeStageWorker } from './shared/expose.ts';

exposeStageWorker(['flow']);
