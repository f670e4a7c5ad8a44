/**
 * `npx tsx tools/bench/variant-golden.ts [--check]`
 *
 * Writes `test/fixtures/variants/auto-wasm.json` (test/helpers/auto-golden.ts): the tiny fixture package's audio with
 * `device: 'wasm', dtype: 'auto'` — placement, tokens of every segment, every 64th sample — from the Node Engine on
 * onnxruntime-web's wasm build. `--check` recomputes and fails unless the tokens are equal and the samples within
 * the golden's tolerance. Checked in Node (test/unit/engine/auto-golden.test.ts) and in Chromium
 * (test/browser/variants.browser.test.ts).
 */
import { writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import {
  AUTO_SAMPLE_TOLERANCE,
  AUTO_WASM_GOLDEN,
  computeAutoWasm,
  readAutoWasmGolden,
} from '../../test/helpers/auto-golden.ts';

const { values } = parseArgs({ options: { check: { type: 'boolean', default: false } } });
const fresh = await computeAutoWasm();
if (values.check) {
  const golden = readAutoWasmGolden();
  const diff = Math.max(...golden.wave.map((x, i) => Math.abs(x - (fresh.wave[i] ?? Infinity))));
  const same = JSON.stringify(golden.segmentTokens) === JSON.stringify(fresh.segmentTokens);
  console.log(`tokens ${same ? 'equal' : 'DIFFER'}; samples ${fresh.samples} vs ${golden.samples}; max |Δ| ${diff}`);
  if (!same || golden.samples !== fresh.samples || !(diff <= AUTO_SAMPLE_TOLERANCE)) process.exit(1);
} else {
  writeFileSync(AUTO_WASM_GOLDEN, JSON.stringify(fresh) + '\n');
  const tokens = fresh.segmentTokens.flat().length;
  console.log(`wrote ${AUTO_WASM_GOLDEN}: ${tokens} tokens, ${fresh.samples} samples`);
}
