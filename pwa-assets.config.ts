/**
 * Icons of the demo PWA (`npm run icons` → public/*.png, committed): generated from public/favicon.svg by
 * @vite-pwa/assets-generator. The maskable icon gets the logo's own dark background (the default white would show as
 * a white ring inside the launcher's mask).
 */
import { defineConfig } from '@vite-pwa/assets-generator/config';

export default defineConfig({
  headLinkOptions: { preset: '2023' },
  preset: {
    transparent: { sizes: [192, 512], favicons: [] },
    maskable: { sizes: [512], padding: 0.3, resizeOptions: { background: '#1d2330' } },
    apple: { sizes: [180], padding: 0.3, resizeOptions: { background: '#1d2330' } },
  },
  images: ['public/favicon.svg'],
});
