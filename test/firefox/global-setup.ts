/**
 * Firefox suite global setup: bundles the test pages the Chromium suite uses (test/browser/build-pages.ts) into
 * build/browser-pages, so both engines load the same page code.
 */
import { buildPages } from '../browser/build-pages.ts';

export default async function globalSetup(): Promise<void> {
  await buildPages();
}
