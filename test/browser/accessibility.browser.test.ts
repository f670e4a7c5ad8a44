/**
 * Accessibility of the built demo: axe-core finds no serious or critical violation, and every enabled control can be
 * reached with the Tab key alone.
 */
import AxeBuilder from '@axe-core/playwright';
import { ISOLATED_STATUS, loadTinyModel } from './demo-page.ts';
import { expect, test } from './fixtures.ts';

test('@not-isolated-only the demo has no serious accessibility violations and every control is reachable by keyboard', async ({
  page,
  server,
}) => {
  await page.goto(`${server.url}/demo/`);
  await expect(page.locator('#app-status')).toHaveText(ISOLATED_STATUS);
  await loadTinyModel(page);

  const results = await new AxeBuilder({ page }).analyze();
  const serious = results.violations
    .filter((violation) => violation.impact === 'serious' || violation.impact === 'critical')
    .map((violation) => `${violation.id}: ${violation.nodes.map((node) => node.target.join(' ')).join(', ')}`);
  expect(serious).toEqual([]);

  const controls = await page
    .locator('button:visible:enabled, input:visible:enabled, select:visible:enabled, textarea:visible:enabled')
    .evaluateAll((elements) => elements.map((element, i) => element.id || `#${i} ${element.outerHTML.slice(0, 60)}`));
  expect(controls.length).toBeGreaterThan(10);
  const reached = new Set<string>();
  await page.locator('body').focus();
  for (let i = 0; i < controls.length + 5; i++) {
    await page.keyboard.press('Tab');
    reached.add(
      await page.evaluate(() => {
        const element = document.activeElement;
        if (element === null) return '';
        const all = [...document.querySelectorAll('button, input, select, textarea')].filter(
          (e) => !(e as HTMLButtonElement).disabled && (e as HTMLElement).offsetParent !== null,
        );
        return element.id || `#${all.indexOf(element)} ${element.outerHTML.slice(0, 60)}`;
      }),
    );
  }
  expect(controls.filter((control) => !reached.has(control))).toEqual([]);
});
