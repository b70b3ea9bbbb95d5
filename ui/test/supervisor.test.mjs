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

test('inside the app, CSV export goes to save_export (no browser download) and says where the file is', async () => {
  const { page, context, problems } = await inventory({ stockRows: 3, tauriShell: true });
  await page.getByTestId('stock-count').getByText('3 rows').waitFor();
  let downloads = 0;
  page.on('download', () => downloads++);

  await page.getByTestId('export-csv').click();
  const saved = page.getByTestId('export-saved');
  await saved.getByText(/^Saved to \/home\/packer\/Downloads\/stock-\d{4}-\d{2}-\d{2}\.csv$/).waitFor();
  const [call] = await callsOf(page, 'save_export');
  assert.match(call.args.name, /^stock-\d{4}-\d{2}-\d{2}\.csv$/);
  const lines = call.args.text.split('\r\n');
  assert.ok(call.args.text.startsWith('\ufeff'), 'the same CSV as the browser download: BOM first');
  assert.equal(lines[0], '\ufeffsku,sellerSku,name,location,lot,expiry,onHand,allocated,available');
  assert.equal(lines[1], 'sku-0,SKU-000000,商品 0,A-00-0,LOT-0,2027-01-15,10,0,10');
  assert.equal(lines.length, 5, 'three rows, the header and the final CRLF');

  // A second export is saved beside the first, and the message names the new file.
  await page.getByTestId('export-csv').click();
  await saved.getByText(/stock-\d{4}-\d{2}-\d{2} \(2\)\.csv$/).waitFor();

  // A refusal is shown from the catalog, and the old path is not left standing.
  await page.evaluate(() => window.__mock.failNext('save_export', { code: 'export_too_large', message: 'too large' }));
  await page.getByTestId('export-csv').click();
  await page.getByRole('alert').getByText('The export is too large to save (at most 32 MiB): narrow the filters.').waitFor();
  assert.equal(await saved.count(), 0);
  assert.equal(downloads, 0, 'nothing went through the browser');
  assert.deepEqual(problems, []);
  await context.close();
});

test('exceptions board: retry a failed Amazon feedback', async () => {
  const { page, context } = await inventory();
  await page.getByTestId('tab-exceptions').click();
  const table = page.getByTestId('exceptions');
  await table.waitFor();
  assert.match(await table.innerText(), /Amazon feedback failed/);
  assert.match(await table.innerText(), /At risk of auto-cancel/);
  // An outbox conflict's code is shown as its catalog message.
  assert.match(await table.innerText(), /Held back: an earlier offline action of the same order was refused by the server/);
  assert.equal(await table.getByRole('button').count(), 1, 'only feedback_failed has a retry');
  await screenshot(page, 'supervisor-exceptions');
  await page.getByRole('button', { name: 'Retry feedback for 503-0000000-0000009' }).click();
  await page.getByText('Feedback retry queued for 503-0000000-0000009.').waitFor();
  assert.deepEqual((await callsOf(page, 'feedback_retry')).map((c) => c.args), [{ orderId: 'ord-9', seq: 1 }]);
  assert.doesNotMatch(await table.innerText(), /Amazon feedback failed/);
  await context.close();
});

async function movements(config = {}) {
  const r = await inventory(config);
  await r.page.getByTestId('tab-movements').click();
  return r;
}

test('movements: newest first, 200 at a time, "Load older" pages back with before', async () => {
  const { page, context, problems } = await movements();
  const count = page.getByTestId('movement-count');
  await count.getByText('200 movements (older ones not loaded yet)').waitFor();
  assert.deepEqual((await callsOf(page, 'movements'))[0].args, { sku: null, kind: null, sinceMs: null, before: null, limit: 200 });
  const first = page.locator('[data-testid=movements-viewport] [role=row]').first();
  const cells = await first.getByRole('cell').allInnerTexts();
  // Local (Japan) time, the kind in words, the SKU, locations, quantity, reason, user, reference.
  assert.deepEqual(cells, ['28 Nov 2026, 17:30', 'Receipt', 'TEA-GREEN-100', '', 'RCV-01-01', '', '1', 'receipt', '0193a1b2-7c4d-7e5f-8a9b-0c1d2e3f4a5b', 'GRN-2250']);
  await screenshot(page, 'supervisor-movements');

  // Scrolled to the end of the first page, then the older ones appended below.
  await page.getByTestId('movements-viewport').focus();
  await page.keyboard.press('End');
  await page.getByTestId('load-older').click();
  await count.getByText('250 movements').waitFor();
  const [, older] = await callsOf(page, 'movements');
  assert.deepEqual(older.args, { sku: null, kind: null, sinceMs: null, before: '0193a1b2-000051', limit: 200 });
  assert.equal(await page.getByTestId('movements').getAttribute('aria-rowcount'), '251');
  assert.notEqual(await page.getByTestId('movements-viewport').evaluate((el) => el.scrollTop), 0, 'the reader keeps their place');
  assert.equal(await page.getByTestId('load-older').count(), 0, 'nothing older');
  assert.deepEqual(problems, []);
  await context.close();
});

test('movements: filter by SKU, kind and date; the next page keeps the filters searched with', async () => {
  const { page, context } = await movements({ movementRows: 1200 });
  const count = page.getByTestId('movement-count');
  await count.getByText('200 movements (older ones not loaded yet)').waitFor();
  await page.getByLabel('SKU', { exact: true }).fill(' SNACK-SENBEI ');
  await page.getByLabel('Kind').selectOption({ label: 'Pick' });
  await page.getByLabel('On or after').fill('2026-11-01');
  await page.getByRole('button', { name: 'Search' }).click();
  await page.waitForFunction(() => window.__mock.callsOf('movements').length === 2);
  // Midnight in Japan on 1 November 2026.
  const sinceMs = Date.parse('2026-10-31T15:00:00Z');
  assert.deepEqual((await callsOf(page, 'movements'))[1].args, { sku: 'SNACK-SENBEI', kind: 'pick', sinceMs, before: null, limit: 200 });
  await count.getByText(/^\d+ movements$/).waitFor();
  const rows = page.locator('[data-testid=movements-viewport] [role=row]');
  const n = await rows.count();
  assert.ok(n > 0);
  for (let i = 0; i < n; i++) {
    const c = await rows.nth(i).getByRole('cell').allInnerTexts();
    assert.equal(c[1], 'Pick');
    assert.equal(c[2], 'SNACK-SENBEI');
  }

  // Only the SKU: more than a page; editing a field without searching does not change the next page.
  await page.getByLabel('Kind').selectOption('');
  await page.getByLabel('On or after').fill('');
  await page.getByRole('button', { name: 'Search' }).click();
  await count.getByText('200 movements (older ones not loaded yet)').waitFor();
  await page.getByLabel('SKU', { exact: true }).fill('CUP-YUNOMI');
  await page.getByTestId('load-older').click();
  await count.getByText('400 movements').waitFor();
  const calls = await callsOf(page, 'movements');
  assert.equal(calls.length, 4);
  assert.equal(calls[3].args.sku, 'SNACK-SENBEI');
  assert.ok(calls[3].args.before);
  await context.close();
});

test('movements: a clear empty state when nothing matches', async () => {
  const { page, context } = await movements();
  await page.getByTestId('movement-count').getByText('200 movements (older ones not loaded yet)').waitFor();
  await page.getByLabel('On or after').fill('2027-01-01');
  await page.getByRole('button', { name: 'Search' }).click();
  await page.getByTestId('movements-empty').getByText('No movements match these filters.').waitFor();
  assert.equal(await page.getByTestId('movements').count(), 0);
  assert.equal(await page.getByTestId('load-older').count(), 0);
  await context.close();
});

test('movements: errors are shown; a failed "Load older" keeps the rows', async () => {
  const { page, context } = await movements({ failNext: { movements: { code: 'forbidden', message: 'supervisor only' } } });
  await page.getByRole('alert').getByText('Your role may not do this.').waitFor();
  assert.equal(await page.getByTestId('movements').count(), 0);
  assert.equal(await page.getByTestId('movements-empty').count(), 0, 'an error is not "no movements"');

  await page.getByRole('button', { name: 'Search' }).click();
  await page.getByTestId('movement-count').getByText('200 movements (older ones not loaded yet)').waitFor();
  assert.equal(await page.getByRole('alert').count(), 0);
  await page.evaluate(() => (window.__MOCK_CONFIG__.failNext = { movements: { code: 'offline', message: 'connection refused' } }));
  await page.getByTestId('load-older').click();
  await page.getByRole('alert').getByText('The server cannot be reached. The action was not done.').waitFor();
  assert.equal(await page.getByTestId('movements').getAttribute('aria-rowcount'), '201', 'the rows stay');
  await page.getByTestId('load-older').click();
  await page.getByTestId('movement-count').getByText('250 movements').waitFor();
  assert.equal(await page.getByRole('alert').count(), 0);
  await context.close();
});
