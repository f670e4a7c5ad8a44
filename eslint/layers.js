// @ts-check
/**
 * The layer table of src/ (docs/architecture.md, "Layers"): what each folder or top-level file may import from the
 * rest of src/. Turned into `import-x/no-restricted-paths` zones by eslint.config.js, so a lower layer importing a
 * higher one fails `npm run lint`; test/unit/layers.test.ts shows it once.
 */

/** @type {Readonly<Record<string, readonly string[]>>} layer → the layers it may import (itself always) */
export const LAYERS = {
  base: [],
  'errors.ts': [],
  dsp: [],
  text: [],
  'events.ts': ['base'],
  loader: ['base', 'errors.ts'],
  runtime: ['base', 'errors.ts', 'loader'],
  'capabilities.ts': ['base', 'runtime'],
  models: ['base', 'errors.ts', 'dsp', 'text', 'runtime'],
  request: ['base', 'errors.ts', 'text', 'loader', 'runtime', 'models'],
  audio: ['base', 'errors.ts', 'events.ts'],
  stages: ['base', 'errors.ts', 'text', 'loader', 'runtime', 'models', 'request', 'audio'],
  engine: ['base', 'errors.ts', 'text', 'loader', 'runtime', 'models', 'request', 'stages'],
  core: ['base', 'errors.ts', 'events.ts', 'dsp', 'loader', 'capabilities.ts', 'audio', 'stages'],
};

/** The worklet bundle may import only these files of src/ (it runs with no DOM and must stay tiny). */
export const WORKLET_IMPORTS = ['./audio/ring-buffer.ts', './audio/playback-protocol.ts'];

/** Options of `import-x/no-restricted-paths` for the table. Paths are relative to the repository root. */
export function layerRuleOptions() {
  const zones = Object.entries(LAYERS).map(([layer, allowed]) => ({
    target: `./src/${layer}`,
    from: './src',
    except: [layer, ...allowed].map((l) => `./${l}`),
    message: `src/${layer} may import ${allowed.length === 0 ? 'nothing else in src' : `only ${allowed.join(', ')}`} (layer table in docs/architecture.md).`,
  }));
  zones.push({
    target: './workers/worklet',
    from: './src',
    except: WORKLET_IMPORTS,
    message: `The worklet imports only ${WORKLET_IMPORTS.join(' and ')} from src.`,
  });
  return { zones };
}
