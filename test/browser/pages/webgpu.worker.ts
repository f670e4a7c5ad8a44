/** Runs the WebGPU probe inside a dedicated worker and posts the result. */
import { probeGpu } from './webgpu-probe.ts';

void probeGpu().then((result) => {
  self.postMessage(result);
});
