// Vite config of the integration app. What a Vite app needs for cosyvoice-web is marked "needed"; the rest is test
// plumbing (see test/integration/README.md).
import { defineConfig } from 'vite';

/** Cross-origin isolation (SharedArrayBuffer, threaded wasm, the SAB playback ring); optional but recommended. */
const isolation = {
  'Cross-Origin-Opener-Policy': 'same-origin',
  'Cross-Origin-Embedder-Policy': 'require-corp',
};

// Test plumbing: in dev, the model package and the voice file come from the test's static server.
const fixtures = process.env['COSYVOICE_FIXTURES_ORIGIN'];

export default defineConfig({
  // Test plumbing: relative asset URLs, because the test serves the built app under /app/.
  base: './',
  // recommended in dev: keep the dependency pre-bundler away from the package's `new URL(…, import.meta.url)` workers
  // and onnxruntime-web's wasm lookup, which resolve relative to the module's own URL (older pre-bundlers broke
  // them; Vite 8.3's also worked without this line when tried, but the spec tests the documented config)
  optimizeDeps: { exclude: ['cosyvoice-web', 'onnxruntime-web'] },
  // needed: ES-module worker chunks. With the default 'iife', Vite inlines onnxruntime-web into each worker file;
  // ORT then starts its wasm threads from that worker file, where ORT's (lazily inlined) code never runs, and a
  // cross-origin isolated page that uses more than one thread hangs while loading.
  worker: { format: 'es' },
  server: {
    headers: isolation,
    ...(fixtures === undefined ? {} : { proxy: { '/models/': fixtures, '/test-assets/': fixtures } }),
  },
  preview: { headers: isolation },
});
