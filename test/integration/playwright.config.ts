/**
 * Playwright config of the bundler integration spec (run by `npm run test:integration`, i.e. scripts/integration.ts,
 * after it has packed the package and installed and built the apps). Separate from the main config so that
 * `npm run test:browser` neither runs nor waits for it. Same browser and flags as the main config.
 */
import { defineConfig } from '@playwright/test';
import browserConfig from '../../playwright.config.ts';

export default defineConfig({
  testDir: '.',
  testMatch: '*.integration.test.ts',
  // not under test-results/: a concurrent `npm run test:browser` empties that folder when it starts
  outputDir: '../../build/integration-results',
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
    ...(browserConfig.use?.launchOptions === undefined ? {} : { launchOptions: browserConfig.use.launchOptions }),
    trace: 'retain-on-failure',
  },
});
