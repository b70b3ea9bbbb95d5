import test from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { useBrowser, openApp, callsOf, screenshot } from './support.mjs';

const env = useBrowser(test);

async function inventory(config = {}) {
  const r = await openApp(env.browser, env.base, { loggedIn: true, role: 'supervisor', locale: 'en', ...config });
  await r.page.getByTestId('nav-supervisor').click();
  return r;
}

test('virtualised inventory: 100,000 rows, few in the DOM, scrolling reaches the last', async () => {
  const { page, context, problems } = await inventory({ stockRows: 100_000 });
  await page.getByTestId('stock-count').getByText('100,000 rows').waitFor();
  const rowsInDom = () => page.locator('[data-testid=stock-viewport] [role=row]').count();
  const n0 = await rowsInDom();
  assert.ok(n0 > 5 && n0 < 60, `rows in DOM: ${n0}`);
  assert.equal(await page.getByTestId('stock').getAttribute('aria-rowcount'), '100001');
  await page.getByText('SKU-000000').waitFor();
  await screenshot(page, 'supervisor-inventory');

  // Scroll to the middle by script, then to the end by keyboard.
  const t0 = Date.now();
  await page.getByTestId('stock-viewport').evaluate((el) => (el.scrollTop = 50_000 * 36));
  await page.getByText('SKU-050000').waitFor();
  assert.ok((await rowsInDom()) < 60);
  await page.getByTestId('stock-viewport').focus();
  await page.keyboard.press('End');
  await page.getByText('SKU-099999').waitFor();
  assert.ok(Date.now() - t0 < 3000, 'scrolling 100k rows stays quick');
  assert.ok((await rowsInDom()) < 60);
  assert.equal(await page.getByText('SKU-000000').count(), 0, 'rows out of view are not rendered');
  assert.deepEqual(problems, []);
  await context.close();
});

test('filters are passed to stock (null when empty) and CSV export downloads the current rows', async () => {
  const { page, context } = await inventory({ stockRows: 40 });
  await page.getByTestId('stock-count').getByText('40 rows').waitFor();
  assert.deepEqual((await callsOf(page, 'stock'))[0].args, { sku: null, location: null, lot: null, expiringBefore: null, lowStock: null, limit: null });

  await page.getByLabel('Location').fill('A-01');
  await page.getByLabel('Expiring on or before').fill('2027-06-30');
  await page.getByLabel('Low stock only').check();
  await page.getByRole('button', { name: 'Search' }).click();
  await page.waitForFunction(() => window.__mock.callsOf('stock').length === 2);
  assert.deepEqual((await callsOf(page, 'stock'))[1].args, { sku: null, location: 'A-01', lot: null, expiringBefore: '2027-06-30', lowStock: true, limit: null });

  await page.getByLabel('Location').fill('');
  await page.getByLabel('Expiring on or before').fill('');
  await page.getByLabel('Low stock only').uncheck();
  await page.getByLabel('SKU', { exact: true }).fill('SKU-00000');
  await page.getByLabel('SKU', { exact: true }).press('Enter');
  await page.getByTestId('stock-count').getByText('10 rows').waitFor();

  const [download] = await Promise.all([page.waitForEvent('download'), page.getByTestId('export-csv').click()]);
  assert.match(download.suggestedFilename(), /^stock-\d{4}-\d{2}-\d{2}\.csv$/);
  const csv = fs.readFileSync(await download.path(), 'utf8');
  const lines = csv.replace(/^\ufeff/, '').trimEnd().split('\r\n');
  assert.ok(csv.startsWith('\ufeff'), 'BOM for spreadsheet programs');
  assert.equal(lines[0], 'sku,sellerSku,name,location,lot,expiry,onHand,allocated,available');
  assert.equal(lines.length, 11);
  assert.equal(lines[1], 'sku-0,SKU-000000,商品 0,A-00-0,LOT-0,2027-01-15,10,0,10');
  // Quotes and commas are escaped; a leading = is defused.
  assert.equal(lines[2], 'sku-1,SKU-000001,"Tea, ""special"" =1",A-01-1,,,11,1,10');
  await context.close();
});

test('exceptions board: retry a failed Amazon feedback', async () => {
  const { page, context } = await inventory();
  await page.getByTestId('tab-exceptions').click();
  const table = page.getByTestId('exceptions');
  await table.waitFor();
  assert.match(await table.innerText(), /Amazon feedback failed/);
  assert.match(await table.innerText(), /At risk of auto-cancel/);
  assert.equal(await table.getByRole('button').count(), 1, 'only feedback_failed has a retry');
  await screenshot(page, 'supervisor-exceptions');
  await page.getByRole('button', { name: 'Retry feedback for 503-0000000-0000009' }).click();
  await page.getByText('Feedback retry queued for 503-0000000-0000009.').waitFor();
  assert.deepEqual((await callsOf(page, 'feedback_retry')).map((c) => c.args), [{ orderId: 'ord-9', seq: 1 }]);
  assert.doesNotMatch(await table.innerText(), /Amazon feedback failed/);
  await context.close();
});
