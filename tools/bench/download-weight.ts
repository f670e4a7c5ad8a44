/**
 * `npx tsx tools/bench/download-weight.ts [--model test/fixtures/tiny-package] [--json FILE]`
 *
 * Download weight of the default placements (issue #11 item 6), read from a package's `manifest.json`: for each
 * device `dtype: 'auto'` resolves to (WebGPU on a real adapter, with and without `shader-f16`; WASM), the dtype each
 * stage picks (`resolveDtype`, the library's own rule) and the bytes of the files that stage downloads
 * (`stageFiles`: its graphs with external data, the tokenizer or noise), with the optional incremental flow graph
 * (`flow_step_incremental`) shown apart: the files only it needs (packages exported since 2026-12-05 keep the
 * estimator's weights in one data file both estimator graphs share, so what remains is its graph structure).
 * Synthesis = LM + flow + vocoder; the cloning stage (`voice`) is downloaded only by `cloneVoice()` and listed apart.
 * Sizes in MB (10^6 bytes).
 */
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import type { Device, Stage } from '../../src/base/stages.ts';
import type { ModelManifest } from '../../src/loader/manifest.ts';
import { parseManifest, stageDtypes, stageFiles, stageGraphs, variantFiles } from '../../src/loader/manifest.ts';
import type { DeviceCapabilities } from '../../src/runtime/device.ts';
import { resolveDtype } from '../../src/runtime/device.ts';

const { values } = parseArgs({
  options: {
    model: { type: 'string', default: 'test/fixtures/tiny-package' },
    json: { type: 'string' },
  },
});
const manifest: ModelManifest = parseManifest(JSON.parse(await readFile(join(values.model, 'manifest.json'), 'utf8')));
const MB = 1e6;
const bytesOf = (paths: readonly string[]): number =>
  paths.reduce((n, p) => n + (manifest.files.find((f) => f.path === p)?.bytes ?? 0), 0);

const environments: ReadonlyArray<{ name: string; device: Device; caps: DeviceCapabilities }> = [
  {
    name: 'auto on WebGPU (shader-f16)',
    device: 'webgpu',
    caps: { webgpu: true, fallbackAdapter: false, shaderF16: true },
  },
  {
    name: 'auto on WebGPU (no f16)',
    device: 'webgpu',
    caps: { webgpu: true, fallbackAdapter: false, shaderF16: false },
  },
  { name: 'auto on WASM', device: 'wasm', caps: { webgpu: false, fallbackAdapter: false, shaderF16: false } },
];
const SYNTHESIS: readonly Stage[] = ['lm', 'flow', 'vocoder'];

interface StageWeight {
  readonly stage: Stage;
  readonly dtype: string;
  readonly mb: number;
  /** Of which the incremental flow graph (0 when the package does not ship it in that dtype). */
  readonly incrementalMb: number;
}

const report = environments.map(({ name, device, caps }) => {
  const stages: StageWeight[] = (['lm', 'flow', 'vocoder', 'voice'] as const)
    .filter((stage) => stageDtypes(manifest, stage).length > 0)
    .map((stage) => {
      const dtype = resolveDtype(stage, 'auto', device, stageDtypes(manifest, stage), caps);
      // the incremental graph's own files: the estimator weights it shares with flow_step are not its cost
      const shared = new Set(
        stageGraphs(manifest, stage, dtype)
          .filter((g) => g !== 'flow_step_incremental')
          .flatMap((g) => variantFiles(manifest, g, dtype).map((f) => f.path)),
      );
      const incremental =
        stage === 'flow' && manifest.graphs.flow_step_incremental?.[dtype] !== undefined
          ? bytesOf(
              variantFiles(manifest, 'flow_step_incremental', dtype)
                .map((f) => f.path)
                .filter((p) => !shared.has(p)),
            )
          : 0;
      return { stage, dtype, mb: bytesOf(stageFiles(manifest, stage, dtype)) / MB, incrementalMb: incremental / MB };
    });
  const synthesis = stages.filter((s) => SYNTHESIS.includes(s.stage));
  return {
    name,
    device,
    stages,
    synthesisMb: synthesis.reduce((n, s) => n + s.mb, 0),
    synthesisWithoutIncrementalMb: synthesis.reduce((n, s) => n + s.mb - s.incrementalMb, 0),
  };
});

console.log(`${values.model} (${manifest.modelId}): bytes downloaded by the default placements, MB\n`);
console.log(
  '| placement | lm | flow (of which incremental) | vocoder | synthesis | without incremental | voice (cloning) |',
);
console.log('|---|---|---|---|---|---|---|');
const cell = (s: StageWeight | undefined, incremental = false): string =>
  s === undefined
    ? '—'
    : `${s.dtype} ${s.mb.toFixed(2)}` + (incremental && s.incrementalMb > 0 ? ` (${s.incrementalMb.toFixed(2)})` : '');
for (const r of report) {
  const by = (stage: Stage): StageWeight | undefined => r.stages.find((s) => s.stage === stage);
  console.log(
    `| ${r.name} | ${cell(by('lm'))} | ${cell(by('flow'), true)} | ${cell(by('vocoder'))} | ` +
      `${r.synthesisMb.toFixed(2)} | ${r.synthesisWithoutIncrementalMb.toFixed(2)} | ${cell(by('voice'))} |`,
  );
}
if (values.json !== undefined) await writeFile(values.json, JSON.stringify({ model: values.model, report }, null, 2));
