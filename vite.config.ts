/// <reference types="vitest/config" />
import { defineConfig } from 'vite';

/** Headers that make the page cross-origin isolated (SharedArrayBuffer, threaded wasm). */
const isolationHeaders = {
  'Cross-Origin-Opener-Policy': 'same-origin',
  'Cross-Origin-Embedder-Policy': 'require-corp',
};

export default defineConfig({
  root: 'demo',
  publicDir: '../public',
  base: './',
  server: { headers: isolationHeaders },
  preview: { headers: isolationHeaders },
  optimizeDeps: { exclude: ['onnxruntime-web'] },
  build: { outDir: '../dist/demo', emptyOutDir: true, target: 'es2022' },
  test: {
    root: '.',
    include: ['test/unit/**/*.test.ts'],
    globalSetup: ['test/global-setup.ts'],
    environment: 'node',
    testTimeout: 60_000,
    pool: 'forks',
  },
});
