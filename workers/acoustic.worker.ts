/** Stage worker hosting flow and vocoder together (the low-memory topology). */
import { exposeStageWorker } from './shared/expose.ts';

exposeStageWorker(['flow', 'vocoder']);
