/**
 * The Firefox suite (`npm run test:firefox`): Vitest in Node driving Debian's Firefox ESR over WebDriver BiDi with
 * puppeteer-core (Playwright's own Firefox build cannot be downloaded on the project's machines, and Playwright does
 * not drive a stock Firefox). The unit suite's options (vite.config.ts: budgets sized for a loaded 2-core machine,
 * `.only` refused, forks), with its own files and global setup.
 */
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';
import unit from '../../vite.config.ts';

export default defineConfig({
  test: {
    ...unit.test,
    root: fileURLToPath(new URL('../..', import.meta.url)),
    include: ['test/firefox/**/*.test.ts'],
    globalSetup: ['test/firefox/global-setup.ts'],
  },
});
