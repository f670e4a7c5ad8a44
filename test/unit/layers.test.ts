/**
 * The layer rule of eslint.config.js (eslint/layers.js) does what docs/architecture.md says: for every layer, an
 * import of each layer it may use passes and an import of each other layer fails — shown on probe files linted with
 * that rule alone (the real tree is linted by `npm run lint`).
 */
import { existsSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { ESLint } from 'eslint';
import importX from 'eslint-plugin-import-x';
import tseslint from 'typescript-eslint';
import { describe, expect, it } from 'vitest';

const ROOT = resolve(import.meta.dirname, '../..');

interface LayerModule {
  readonly LAYERS: Readonly<Record<string, readonly string[]>>;
  readonly WORKLET_IMPORTS: readonly string[];
  layerRuleOptions(): unknown;
}
const layers = (await import(pathToFileURL(join(ROOT, 'eslint/layers.js')).href)) as unknown as LayerModule;

/** A real module of each layer, to import from the probes. */
const MODULE_OF: Readonly<Record<string, string>> = {
  base: 'base/stages.ts',
  'errors.ts': 'errors.ts',
  dsp: 'dsp/index.ts',
  text: 'text/index.ts',
  'events.ts': 'events.ts',
  loader: 'loader/manifest.ts',
  runtime: 'runtime/device.ts',
  'capabilities.ts': 'capabilities.ts',
  models: 'models/lm/rng.ts',
  request: 'request/options.ts',
  audio: 'audio/ring-buffer.ts',
  stages: 'stages/pipeline.ts',
  engine: 'engine/engine.ts',
  core: 'core/rpc.ts',
  'cosyvoice.ts': 'cosyvoice.ts',
};

const eslint = new ESLint({
  cwd: ROOT,
  overrideConfigFile: true,
  overrideConfig: [
    {
      files: ['**/*.ts'],
      languageOptions: { parser: tseslint.parser },
      plugins: { 'import-x': importX },
      rules: { 'import-x/no-restricted-paths': ['error', layers.layerRuleOptions()] },
    },
  ],
});

/** The layer-rule messages for a probe at `file` (relative to the root) importing `target` (relative to src/). */
async function violations(file: string, target: string): Promise<string[]> {
  const path = relative(dirname(join(ROOT, file)), join(ROOT, 'src', target));
  const specifier = path.startsWith('.') ? path : `./${path}`;
  const [result] = await eslint.lintText(`import * as probe from '${specifier}';\nexport { probe };\n`, {
    filePath: join(ROOT, file),
  });
  return (result?.messages ?? []).map((m) => `${m.ruleId ?? 'parse'}: ${m.message}`);
}

/** A probe file inside a layer (a folder) or the layer's own file. */
function probeIn(layer: string): string {
  return layer.endsWith('.ts') ? `src/${layer}` : `src/${layer}/zz-layer-probe.ts`;
}

describe('layer rule', () => {
  it('names a real module for every layer of the table', () => {
    for (const layer of Object.keys(layers.LAYERS)) {
      expect(existsSync(join(ROOT, 'src', MODULE_OF[layer] ?? 'missing'))).toBe(true);
    }
  });

  it('every layer may import what the table allows and nothing above it', async () => {
    const layerNames = Object.keys(layers.LAYERS);
    const refused: string[] = [];
    for (const [layer, allowed] of Object.entries(layers.LAYERS)) {
      for (const other of [...layerNames, 'cosyvoice.ts']) {
        if (other === layer) continue;
        const module = MODULE_OF[other] ?? '';
        const messages = await violations(probeIn(layer), module);
        if (allowed.includes(other)) expect(messages, `${layer} → ${other}`).toEqual([]);
        else {
          expect(messages, `${layer} → ${other}`).toHaveLength(1);
          expect(messages[0]).toContain('import-x/no-restricted-paths');
          refused.push(`${layer}→${other}`);
        }
      }
    }
    // e.g. the pure DSP kernels cannot reach the engine, and the runners cannot reach the orchestrator
    expect(refused).toContain('dsp→engine');
    expect(refused).toContain('models→stages');
    expect(refused).toContain('loader→runtime');
  });

  it('the worklet imports only the ring and the playback protocol', async () => {
    for (const file of layers.WORKLET_IMPORTS) {
      expect(await violations('workers/worklet/zz-probe.ts', file.replace(/^\.\//, ''))).toEqual([]);
    }
    const player = await violations('workers/worklet/zz-probe.ts', 'audio/player.ts');
    expect(player).toHaveLength(1);
    expect(player[0]).toContain('The worklet imports only');
  });
});
