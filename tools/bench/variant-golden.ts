/**
 * `npx tsx tools/bench/variant-golden.ts [--check]`
 *
 * Writes `test/fixtures/variants/auto-wasm.json` and `auto-webgpu.json` (test/helpers/auto-golden.ts): the tiny
 * fixture package's audio with `dtype: 'auto'` on each device — placement, tokens of every segment, every 64th sample
 * — from the Node Engine on onnxruntime-web's wasm build, with the dtypes `auto` picks on that device. `--check`
 * recomputes and fails unless the tokens are equal and the samples within the golden's tolerance. Checked in Node
 * (test/unit/engine/auto-golden.test.ts) and in Chromium (wasm: test/browser/variants.browser.test.ts; WebGPU:
 * test/browser/webgpu-pipeline.browser.test.ts).
 */
import { writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import {
  AUTO_GOLDEN_DEVICES,
  AUTO_SAMPLE_TOLERANCE,
  autoGoldenFile,
  computeAutoGolden,
  readAutoGolden,
} from '../../test/helpers/auto-golden.ts';

const { values } = parseArgs({ options: { check: { type: 'boolean', default: false } } });
let failed = false;
for (const device of AUTO_GOLDEN_DEVICES) {
  const fresh = await computeAutoGolden(device);
  if (values.check) {
    const golden = readAutoGolden(device);
    const diff = Math.max(...golden.wave.map((x, i) => Math.abs(x - (fresh.wave[i] ?? Infinity))));
    const same = JSON.stringify(golden.segmentTokens) === JSON.stringify(fresh.segmentTokens);
    console.log(
      `${device}: tokens ${same ? 'equal' : 'DIFFER'}; samples ${fresh.samples} vs ${golden.samples}; max |Δ| ${diff}`,
    );
    if (!same || golden.samples !== fresh.samples || !(diff <= AUTO_SAMPLE_TOLERANCE)) failed = true;
  } else {
    writeFileSync(autoGoldenFile(device), JSON.stringify(fresh) + '\n');
    const tokens = fresh.segmentTokens.flat().length;
    console.log(`wrote ${autoGoldenFile(device)}: ${tokens} tokens, ${fresh.samples} samples`);
  }
}
if (failed) process.exit(1);
