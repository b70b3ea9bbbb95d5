import test from 'node:test';
import assert from 'node:assert/strict';
import { useBrowser, openApp, callsOf, screenshot, axeInBothLocales } from './support.mjs';

const env = useBrowser(test);

async function returns(config = {}) {
  const r = await openApp(env.browser, env.base, { loggedIn: true, role: 'supervisor', locale: 'en', ...config });
  await r.page.getByTestId('nav-supervisor').click();
  await r.page.getByTestId('tab-returns').click();
  await r.page.getByTestId('returns').waitFor();
  return r;
}

const rowTexts = (page, testid) =>
  page.locator(`[data-testid=${testid}] tbody tr`).evaluateAll((trs) => trs.map((tr) => [...tr.cells].map((c) => c.innerText.trim())));

test('returns: the expected ones listed; one inspected and restocked to a chosen bin; the others by status', async () => {
  const { page, context, problems } = await returns();
  assert.deepEqual((await callsOf(page, 'returns'))[0].args, { status: 'expected', limit: null });
  await page.getByTestId('returns-count').getByText('2 returns').waitFor();
  assert.deepEqual(await rowTexts(page, 'returns'), [
    ['28 Nov 2026, 12:00', 'ord-1', 'Damaged', 'TEA-GREEN-100 × 1', 'Expected', 'Receive'],
    ['27 Nov 2026, 14:00', '(no order)', 'No longer wanted', 'SNACK-SENBEI × 2', 'Expected', 'Receive'],
  ]);

  await page.getByRole('button', { name: 'Receive the return of ord-1' }).click();
  const panel = page.getByTestId('return-inspect');
  await panel.getByRole('heading', { name: 'Inspect and receive the return of ord-1' }).waitFor();
  assert.equal(await page.evaluate(() => document.activeElement?.id), 'rma-inspect-title', 'the focus moves to the inspection');
  assert.equal(await panel.getByLabel('Restock (sellable)').isChecked(), true);
  assert.equal(await panel.getByLabel('Restock to bin').inputValue(), 'A-01-01-01', 'the first storage bin');
  // The inspection result is required.
  await panel.getByRole('button', { name: 'Receive and restock' }).click();
  await page.getByTestId('return-receive-error').getByText('Choose the inspection result, and the bin unless the goods are disposed of.').waitFor();
  assert.equal((await callsOf(page, 'return_receive')).length, 0);
  await panel.getByLabel('Restock to bin').fill('A-01-01-02');
  // On with the keyboard: the bin's suggestion list closes.
  await page.keyboard.press('Tab');
  await panel.getByLabel('Inspection result').selectOption({ label: 'As new, resellable' });
  await screenshot(page, 'supervisor-returns-inspect');
  await panel.getByRole('button', { name: 'Receive and restock' }).click();
  await page.getByTestId('returns-notice').getByText('Return of ord-1 received and restocked to A-01-01-02.').waitFor();
  assert.deepEqual((await callsOf(page, 'return_receive'))[0].args, { id: 'rma-0003', disposition: 'restock', location: 'A-01-01-02', lot: null, reason: 'resellable' });
  await page.getByTestId('returns-count').getByText('1 returns').waitFor();
  assert.equal(await panel.count(), 0, 'the inspection is closed');

  await page.getByLabel('Status', { exact: true }).selectOption({ label: 'Restocked' });
  await page.getByTestId('returns-count').getByText('2 returns').waitFor();
  assert.deepEqual((await rowTexts(page, 'returns')).map((r) => [r[1], r[4], r[5]]), [
    ['ord-1', 'Restocked', ''],
    ['ord-0', 'Restocked', ''],
  ]);
  await page.getByLabel('Status', { exact: true }).selectOption({ label: 'All' });
  await page.getByTestId('returns-count').getByText('3 returns').waitFor();
  assert.deepEqual((await callsOf(page, 'returns')).at(-1).args, { status: null, limit: null });
  assert.deepEqual(problems, []);
  await context.close();
});

test('returns: quarantine needs a quarantine bin and a lot for a lot-tracked SKU; the refusals are the catalog messages; dispose needs no bin', async () => {
  const { page, context } = await returns();
  await page.getByRole('button', { name: 'Receive the return of SNACK-SENBEI × 2' }).click();
  const panel = page.getByTestId('return-inspect');
  await panel.getByLabel('Quarantine (hold for inspection)').check();
  assert.equal(await panel.getByLabel('Quarantine bin').inputValue(), 'QC-01-01');
  await panel.getByLabel('Inspection result').selectOption('damaged');
  const alert = page.getByTestId('return-receive-error');

  // A storage bin is no quarantine bin (the server's rule).
  await panel.getByLabel('Quarantine bin').fill('A-01-01-01');
  await panel.getByRole('button', { name: 'Receive into quarantine' }).click();
  await alert.getByText('That bin is not a quarantine bin: choose a quarantine bin.').waitFor();
  // The lot of a lot-tracked SKU.
  await panel.getByLabel('Quarantine bin').fill('QC-01-01');
  await panel.getByRole('button', { name: 'Receive into quarantine' }).click();
  await alert.getByText('A returned SKU is lot tracked: enter the lot.').waitFor();
  await panel.getByLabel('Lot (if tracked)').fill('L2026-03');
  await panel.getByLabel('Lot (if tracked)').press('Enter');
  await page.getByTestId('returns-notice').getByText('Return of SNACK-SENBEI × 2 received into quarantine at QC-01-01.').waitFor();
  assert.deepEqual((await callsOf(page, 'return_receive')).at(-1).args, { id: 'rma-0002', disposition: 'quarantine', location: 'QC-01-01', lot: 'L2026-03', reason: 'damaged' });

  // Disposal: no bin to choose (the server's returns bin).
  await page.getByRole('button', { name: 'Receive the return of ord-1' }).click();
  await panel.getByLabel('Dispose of').check();
  assert.equal(await panel.getByLabel('Restock to bin').count(), 0);
  await panel.getByText('The goods are received into the returns bin and written off at once.').waitFor();
  await panel.getByLabel('Inspection result').selectOption('defective');
  await panel.getByRole('button', { name: 'Receive and dispose of' }).click();
  await page.getByTestId('returns-notice').getByText('Return of ord-1 received and disposed of.').waitFor();
  assert.deepEqual((await callsOf(page, 'return_receive')).at(-1).args, { id: 'rma-0003', disposition: 'dispose', location: null, lot: null, reason: 'defective' });
  await page.getByTestId('returns-empty').getByText('No returns in this status.').waitFor();
  await context.close();
});

test('returns: expect a return for an order; an unknown order and a bad line are refused', async () => {
  const { page, context } = await returns();
  await page.getByText('Expect a return').click();
  const form = page.getByRole('form', { name: 'Expect a return' });
  await form.getByLabel('Order id (optional)').fill(' ord-2 ');
  await form.getByLabel('SKU, line 1').fill('SNACK-SENBEI');
  await form.getByRole('button', { name: 'Expect the return' }).click();
  const alert = page.getByTestId('return-new-error');
  await alert.getByText('Choose a reason and enter at least one line with a SKU and a whole quantity of 1 or more.').waitFor();
  assert.equal((await callsOf(page, 'return_create')).length, 0);
  await form.getByLabel('Reason for the return').selectOption({ label: 'Wrong item sent' });
  await form.getByRole('button', { name: 'Expect the return' }).click();
  await page.getByTestId('returns-notice').getByText('Return expected for order ord-2.').waitFor();
  assert.deepEqual((await callsOf(page, 'return_create'))[0].args, { orderId: 'ord-2', reason: 'wrong_item', lines: [{ sku: 'SNACK-SENBEI', quantity: 1 }] });
  await page.getByTestId('returns-count').getByText('3 returns').waitFor();
  assert.deepEqual((await rowTexts(page, 'returns'))[0].slice(1, 5), ['ord-2', 'Wrong item sent', 'SNACK-SENBEI × 1', 'Expected']);

  await form.getByLabel('Order id (optional)').fill('ord-404');
  await form.getByLabel('Reason for the return').selectOption('damaged');
  await form.getByLabel('SKU, line 1').fill('CUP-YUNOMI');
  await form.getByRole('button', { name: 'Expect the return' }).click();
  await alert.getByText('No order (or return) with this id in this tenant.').waitFor();
  await form.getByLabel('Order id (optional)').fill('');
  await form.getByLabel('SKU, line 1').fill('NO-SUCH-SKU');
  await form.getByRole('button', { name: 'Expect the return' }).click();
  await alert.getByText('No SKU with this code in this tenant.').waitFor();
  await form.getByLabel('SKU, line 1').fill('CUP-YUNOMI');
  await form.getByRole('button', { name: 'Expect the return' }).click();
  await page.getByTestId('returns-notice').getByText('Return expected.').waitFor();
  await context.close();
});

test('returns in Japanese: a return received elsewhere first is refused with the catalog message', async () => {
  const { page, context } = await returns({ locale: 'ja', failNext: { return_receive: { code: 'return_already_received', message: 'this return is already restocked' } } });
  await page.getByTestId('returns-count').getByText('2 件').waitFor();
  assert.deepEqual((await rowTexts(page, 'returns'))[0].slice(0, 5), ['2026/11/28 12:00', 'ord-1', '破損', 'TEA-GREEN-100 × 1', '返品予定']);
  await page.getByRole('button', { name: 'ord-1 の返品を受領' }).click();
  await page.getByLabel('検品結果').selectOption('resellable');
  await page.getByRole('button', { name: '受領して在庫に戻す' }).click();
  await page.getByTestId('return-receive-error').getByText('この返品はすでに受領済みです。一覧を更新してください。').waitFor();
  await screenshot(page, 'supervisor-returns-ja');
  await context.close();
});

test('axe: the returns tab with the inspection open, an error and the new-return form, in both languages', async () => {
  const found = await axeInBothLocales(async (locale) => {
    const r = await returns({ locale });
    await r.page.locator('[data-testid=returns] tbody button').first().click();
    await r.page.locator('[data-testid=return-inspect] button[type=submit]').click();
    await r.page.getByTestId('return-receive-error').waitFor();
    await r.page.locator('[data-testid=return-new] summary').click();
    return r;
  });
  assert.deepEqual(found, []);
});
