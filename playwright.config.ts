/**
 * Browser tests (`npm run test:browser`): Playwright driving Debian's Chromium (toolchain.md "Browser tests").
 *
 * - Browser: `CHROMIUM_PATH`, else `/usr/bin/chromium` when present, else Playwright's own Chromium (for machines
 *   where `npx playwright install` works).
 * - Flags: the headless-as-root set of toolchain.md; `--enable-unsafe-webgpu` gives a WebGPU adapter (SwiftShader's
 *   fallback adapter on machines without a GPU); autoplay is allowed so live AudioContexts start without a gesture.
 * - Projects: `isolated` (COOP/COEP → crossOriginIsolated, SharedArrayBuffer) and `not-isolated` (the fallbacks),
 *   plus `webgpu-pipeline` (not isolated), the one slow SwiftShader test, listed first so that it starts first.
 *   Each worker process starts its own static server (test/browser/server.ts) on a free port. Tests tagged
 *   `@isolated-only` / `@not-isolated-only` run in one project only (no skipped tests).
 * - Global setup bundles the pages under test/browser/pages into build/browser-pages.
 */
import { existsSync } from 'node:fs';
import { defineConfig } from '@playwright/test';
import type { BrowserTestOptions } from './test/browser/fixtures.ts';

const WEBGPU_PIPELINE = '**/webgpu-pipeline.browser.test.ts';

const executablePath =
  process.env['CHROMIUM_PATH'] ?? (existsSync('/usr/bin/chromium') ? '/usr/bin/chromium' : undefined);

export default defineConfig<BrowserTestOptions>({
  testDir: 'test/browser',
  testMatch: '**/*.browser.test.ts',
  globalSetup: './test/browser/global-setup.ts',
  outputDir: 'test-results',
  // Sized for a loaded 2-core machine (several times the slowest test's unloaded time; WebGPU-on-SwiftShader tests set
  // their own, longer budget): timeouts catch hangs, they never measure speed.
  timeout: 180_000,
  expect: { timeout: 30_000 },
  workers: 2,
  retries: 0,
  // a committed .only must not shrink the suite, whether or not CI is set (lint refuses it too)
  forbidOnly: true,
  reporter: process.env['CI'] !== undefined ? 'line' : 'list',
  use: {
    browserName: 'chromium',
    launchOptions: {
      ...(executablePath === undefined ? {} : { executablePath }),
      args: [
        '--no-sandbox',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
        '--no-first-run',
        '--disable-quic',
        '--enable-unsafe-webgpu',
        '--autoplay-policy=no-user-gesture-required',
        // performance.measureUserAgentSpecificMemory() answers at once instead of at the next GC (memory test)
        '--enable-blink-features=ForceEagerMeasureMemory',
      ],
    },
    trace: 'retain-on-failure',
  },
  // Tests that only make sense in one isolation mode carry a tag instead of skipping themselves.
  // The WebGPU pipeline test takes minutes on SwiftShader: Playwright hands test groups to workers in project order,
  // so its project comes first and it runs alongside the others instead of alone at the end (≈ 2 min of CI).
  projects: [
    { name: 'webgpu-pipeline', use: { isolated: false }, testMatch: WEBGPU_PIPELINE },
    { name: 'isolated', use: { isolated: true }, grepInvert: /@not-isolated-only/, testIgnore: WEBGPU_PIPELINE },
    { name: 'not-isolated', use: { isolated: false }, grepInvert: /@isolated-only/, testIgnore: WEBGPU_PIPELINE },
  ],
});
