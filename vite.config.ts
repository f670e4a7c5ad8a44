/// <reference types="vitest/config" />
import { createReadStream, cpSync, existsSync, statSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { join, normalize, resolve } from 'node:path';
import type { Plugin } from 'vite';
import { defineConfig } from 'vite';
import { VitePWA } from 'vite-plugin-pwa';
import { pwaOptions } from './demo/pwa/options.ts';

/** Headers that make the page cross-origin isolated (SharedArrayBuffer, threaded wasm). */
const isolationHeaders = {
  'Cross-Origin-Opener-Policy': 'same-origin',
  'Cross-Origin-Embedder-Policy': 'require-corp',
};

const TINY_PACKAGE = resolve(import.meta.dirname, 'test/fixtures/tiny-package');

/**
 * Serves the tiny fixture model package at `/models/tiny/` in dev and copies it into the build, so the demo works
 * out of the box (with random weights: it exercises the pipeline but speaks noise).
 */
function tinyModel(): Plugin {
  return {
    name: 'cosyvoice-tiny-model',
    configureServer(server) {
      server.middlewares.use('/models/tiny/', (req, res, next) => {
        const path = normalize(join(TINY_PACKAGE, decodeURIComponent((req.url ?? '/').split('?')[0] ?? '/')));
        if (!path.startsWith(TINY_PACKAGE) || !existsSync(path) || !statSync(path).isFile()) {
          next();
          return;
        }
        res.setHeader('Content-Type', path.endsWith('.json') ? 'application/json' : 'application/octet-stream');
        res.setHeader('Cross-Origin-Resource-Policy', 'same-origin');
        createReadStream(path).pipe(res);
      });
    },
    writeBundle(options) {
      if (options.dir !== undefined) cpSync(TINY_PACKAGE, join(options.dir, 'models/tiny'), { recursive: true });
    },
  };
}

export default defineConfig({
  root: 'demo',
  publicDir: '../public',
  base: './',
  resolve: {
    alias: {
      'cosyvoice-web/dsp': resolve(import.meta.dirname, 'src/dsp/index.ts'),
      'cosyvoice-web': resolve(import.meta.dirname, 'src/index.ts'),
    },
  },
  plugins: [tinyModel(), VitePWA(pwaOptions)],
  server: { headers: isolationHeaders, fs: { allow: [import.meta.dirname] } },
  preview: { headers: isolationHeaders },
  worker: { format: 'es' },
  optimizeDeps: { exclude: ['onnxruntime-web'] },
  build: { outDir: '../dist/demo', emptyOutDir: true, target: 'es2022' },
  test: {
    root: '.',
    include: ['test/unit/**/*.test.ts'],
    globalSetup: ['test/global-setup.ts'],
    environment: 'node',
    // One budget for tests and their hooks (a model-loading beforeAll is as slow as a test), sized for a loaded
    // 2-core machine: several times the slowest test's unloaded time. Timeouts catch hangs; they never measure speed.
    testTimeout: 180_000,
    hookTimeout: 180_000,
    teardownTimeout: 60_000,
    // a committed .only must not shrink the suite, whether or not CI is set (lint refuses it too)
    allowOnly: false,
    pool: 'forks',
    // Vitest's default (cores − 1) runs one fork on a 2-core machine; the unit tests' onnxruntime-web sessions are
    // single-threaded (its default wasm thread count is 1 on such a machine), so a fork per core uses both
    maxWorkers: availableParallelism(),
  },
});
