/**
 * vite-plugin-pwa options of the demo (used by vite.config.ts): the web app manifest and the precache list of the
 * service worker in sw.ts (Workbox `injectManifest`).
 *
 * Precached: the app shell, the worker bundles, onnxruntime's loaders and the CPU wasm (every page needs it: the
 * WASM path and the fallback of the WebGPU path). The WebGPU wasm (27 MB) is cached by sw.ts when first used, so a
 * machine without WebGPU never downloads it. Model files are never precached: the library keeps them in its own
 * verified Cache API store, which is also what makes a used model available offline.
 */
import type { VitePWAOptions } from 'vite-plugin-pwa';

export const THEME_COLOR = '#1d2330';

export const pwaOptions: Partial<VitePWAOptions> = {
  strategies: 'injectManifest',
  // relative to the Vite root (demo/)
  srcDir: 'pwa',
  filename: 'sw.ts',
  // registration and the update prompt are the page's own (demo/pwa/register.ts)
  injectRegister: false,
  registerType: 'prompt',
  manifest: {
    name: 'cosyvoice-web: voice cloning in your browser',
    short_name: 'CosyVoice',
    description: 'CosyVoice 2 speech synthesis and 3-second voice cloning, entirely in the browser, offline-capable.',
    theme_color: THEME_COLOR,
    background_color: THEME_COLOR,
    display: 'standalone',
    // relative: resolved against the manifest's own URL, so the app works from any sub-path
    start_url: './',
    scope: './',
    icons: [
      { src: 'pwa-192x192.png', sizes: '192x192', type: 'image/png' },
      { src: 'pwa-512x512.png', sizes: '512x512', type: 'image/png' },
      { src: 'maskable-icon-512x512.png', sizes: '512x512', type: 'image/png', purpose: 'maskable' },
    ],
  },
  injectManifest: {
    globPatterns: ['**/*.{html,js,css,svg,png,webmanifest}', 'assets/ort-wasm-simd-threaded-*.wasm'],
    globIgnores: ['models/**'],
    // onnxruntime's CPU wasm is 14 MB
    maximumFileSizeToCacheInBytes: 32 * 1024 * 1024,
  },
  devOptions: { enabled: false },
};
