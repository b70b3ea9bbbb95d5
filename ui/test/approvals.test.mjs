import test from 'node:test';
import assert from 'node:assert/strict';
import { useBrowser, openApp, callsOf, screenshot, axeInBothLocales } from './support.mjs';

const env = useBrowser(test);

async function approvals(config = {}) {
  const r = await openApp(env.browser, env.base, { loggedIn: true, role: 'supervisor', locale: 'en', ...config });
  await r.page.getByTestId('nav-supervisor').click();
  await r.page.getByTestId('tab-approvals').click();
  await r.page.getByTestId('adjustments').waitFor();
  return r;
}

const rowTexts = (page, testid) =>
  page.locator(`[data-testid=${testid}] tbody tr`).evaluateAll((trs) => trs.map((tr) => [...tr.cells].map((c) => c.innerText.trim())));

test('approvals: pending adjustments listed; approving another supervisor\'s request posts it', async () => {
  const { page, context, problems } = await approvals();
  assert.deepEqual((await callsOf(page, 'adjustments'))[0].args, { status: 'pending' });
  await page.getByTestId('adjustment-count').getByText('2 requests').waitFor();
  const rows = await rowTexts(page, 'adjustments');
  assert.deepEqual(rows[0].slice(0, 7), ['28 Nov 2026, 16:40', 'TEA-GREEN-100', 'A-01-01-02', '', '-24', 'Damaged', '0193a1b2-7c4d-7e5f-8a9b-0c1d2e3f4a5c']);
  assert.deepEqual(rows[1].slice(0, 6), ['28 Nov 2026, 15:10', 'SNACK-SENBEI', 'B-02-01-03', 'L2026-03', '+15', 'Found']);
  await screenshot(page, 'supervisor-approvals');

  await page.getByRole('button', { name: 'Approve the adjustment of TEA-GREEN-100 at A-01-01-02 (-24)' }).click();
  await page.getByTestId('adjust-notice').getByText('Adjustment of TEA-GREEN-100 approved and posted.').waitFor();
  assert.deepEqual((await callsOf(page, 'adjustment_decide'))[0].args, { id: 'adj-0003', approve: true });
  await page.getByTestId('adjustment-count').getByText('1 requests').waitFor();

  // The decided ones, by status: who decided instead of the buttons.
  await page.getByRole('combobox', { name: 'Status' }).selectOption({ label: 'Approved' });
  await page.getByTestId('adjustment-count').getByText('2 requests').waitFor();
  assert.deepEqual((await callsOf(page, 'adjustments')).at(-1).args, { status: 'approved' });
  assert.equal(await page.getByTestId('adjustments').getByRole('button').count(), 0);
  assert.match(await page.getByTestId('adjustments').innerText(), /Decided by/);
  assert.deepEqual(problems, []);
  await context.close();
});

test('approvals: the server refuses your own request (four_eyes_required), approve or reject; the message is shown and the row stays', async () => {
  const { page, context } = await approvals();
  await page.getByTestId('adjustment-count').getByText('2 requests').waitFor();
  await page.getByRole('button', { name: 'Approve the adjustment of SNACK-SENBEI at B-02-01-03 (+15)' }).click();
  const alert = page.getByTestId('adjustments-error');
  await alert.getByText('Another supervisor must approve an adjustment you requested (four-eyes rule).').waitFor();
  await screenshot(page, 'supervisor-approvals-four-eyes');

  await page.getByRole('button', { name: 'Reject the adjustment of SNACK-SENBEI at B-02-01-03 (+15)' }).click();
  await page.waitForFunction(() => window.__mock.callsOf('adjustment_decide').length === 2);
  await alert.getByText('Another supervisor must approve an adjustment you requested (four-eyes rule).').waitFor();
  assert.deepEqual((await callsOf(page, 'adjustment_decide'))[1].args, { id: 'adj-0002', approve: false });
  assert.equal(await page.getByTestId('adjustments').locator('tr[data-id=adj-0002]').count(), 1, 'the request is still pending');

  // Rejecting another supervisor's request works and clears the error.
  await page.getByRole('button', { name: 'Reject the adjustment of TEA-GREEN-100 at A-01-01-02 (-24)' }).click();
  await page.getByTestId('adjust-notice').getByText('Adjustment of TEA-GREEN-100 rejected.').waitFor();
  assert.equal(await alert.count(), 0);
  await context.close();
});

test('approvals: the four-eyes refusal in Japanese, and an unknown code falls back to the server\'s message', async () => {
  const { page, context } = await approvals({
    locale: 'ja',
    failNext: { adjustment_decide: { code: 'adjustment_locked_elsewhere', message: 'locked by another approval' } },
  });
  await page.getByTestId('adjustment-count').getByText('2 件').waitFor();
  await page.getByRole('button', { name: 'SNACK-SENBEI(B-02-01-03)の在庫調整 +15 を承認' }).click();
  await page.getByTestId('adjustments-error').getByText('locked by another approval').waitFor();
  await page.getByRole('button', { name: 'SNACK-SENBEI(B-02-01-03)の在庫調整 +15 を承認' }).click();
  await page.getByTestId('adjustments-error').getByText('ご自身が申請した在庫調整は、別の管理者の承認が必要です(ダブルチェック)。').waitFor();
  await context.close();
});

test('approvals: request an adjustment with a reason — applied at once, or waiting for approval above the threshold', async () => {
  const { page, context } = await approvals();
  const form = page.getByTestId('adjust-form');
  await page.getByTestId('adjustment-count').getByText('2 requests').waitFor();

  // Nothing is sent without a reason and a non-zero change.
  await form.getByLabel('SKU').fill('CUP-YUNOMI');
  await form.getByLabel('Location').fill('A-01-01-02');
  await form.getByLabel('Change (+ found, − written off)').fill('-3');
  await form.getByRole('button', { name: 'Request' }).click();
  await page.getByTestId('adjust-error').getByText('Enter the SKU, the location, a change other than 0 and a reason.').waitFor();
  assert.equal((await callsOf(page, 'adjust')).length, 0);

  await form.getByLabel('Reason').selectOption({ label: 'Damaged' });
  await form.getByRole('button', { name: 'Request' }).click();
  await page.getByTestId('adjust-notice').getByText('Adjustment applied: -3 of CUP-YUNOMI at A-01-01-02.').waitFor();
  assert.deepEqual((await callsOf(page, 'adjust'))[0].args, { sku: 'CUP-YUNOMI', location: 'A-01-01-02', lot: null, delta: -3, reason: 'damaged' });
  assert.equal(await form.getByLabel('SKU').inputValue(), '', 'the form is cleared');

  await form.getByLabel('SKU').fill(' SNACK-SENBEI ');
  await form.getByLabel('Location').fill('B-02-01-03');
  await form.getByLabel('Lot (if tracked)').fill('L2026-04');
  await form.getByLabel('Change (+ found, − written off)').fill('30');
  await form.getByLabel('Reason').selectOption('found');
  await form.getByLabel('Lot (if tracked)').press('Enter');
  await page.getByTestId('adjust-notice').getByText("Above the approval threshold: the adjustment of SNACK-SENBEI waits for another supervisor's approval.").waitFor();
  assert.deepEqual((await callsOf(page, 'adjust'))[1].args, { sku: 'SNACK-SENBEI', location: 'B-02-01-03', lot: 'L2026-04', delta: 30, reason: 'found' });
  await page.getByTestId('adjustment-count').getByText('3 requests').waitFor();

  // A refusal from the server is shown with the form kept.
  await form.getByLabel('SKU').fill('NO-SUCH-SKU');
  await form.getByLabel('Location').fill('A-01');
  await form.getByLabel('Change (+ found, − written off)').fill('1');
  await form.getByLabel('Reason').selectOption('found');
  await form.getByRole('button', { name: 'Request' }).click();
  // The office's words for the code (at the bench, unknown_sku is a scanned barcode).
  await page.getByTestId('adjust-error').getByText('No SKU with this code in this tenant.').waitFor();
  assert.equal(await form.getByLabel('SKU').inputValue(), 'NO-SUCH-SKU');
  await context.close();
});

test('approvals by keyboard only: arrow to the tab, Tab to the buttons, Enter approves', async () => {
  const { page, context } = await openApp(env.browser, env.base, { loggedIn: true, role: 'admin', locale: 'en' });
  await page.getByTestId('nav-supervisor').click();
  await page.getByTestId('tab-inventory').focus();
  await page.keyboard.press('End');
  assert.equal(await page.evaluate(() => document.activeElement?.id), 'tab-approvals');
  await page.getByTestId('adjustments').waitFor();
  await page.getByTestId('adjustment-count').getByText('2 requests').waitFor();
  // Tab until the first Approve button has the focus, then Enter.
  let name = '';
  for (let i = 0; i < 25 && !name.startsWith('Approve the adjustment of TEA'); i++) {
    await page.keyboard.press('Tab');
    name = await page.evaluate(() => document.activeElement?.getAttribute('aria-label') ?? '');
  }
  assert.equal(name, 'Approve the adjustment of TEA-GREEN-100 at A-01-01-02 (-24)');
  const outline = await page.evaluate(() => getComputedStyle(document.activeElement).outlineStyle);
  assert.notEqual(outline, 'none', 'focus is visible');
  await page.keyboard.press('Enter');
  await page.getByTestId('adjust-notice').getByText('Adjustment of TEA-GREEN-100 approved and posted.').waitFor();
  await context.close();
});

test('approvals: a packer has no supervisor screen; the role is checked by the server too', async () => {
  const { page, context } = await openApp(env.browser, env.base, { loggedIn: true, role: 'packer', locale: 'en' });
  await page.getByTestId('prompt').waitFor();
  assert.equal(await page.getByTestId('nav-supervisor').count(), 0);
  const err = await page.evaluate(() => window.__TAURI_INTERNALS__.invoke('adjustments', { status: null }).catch((e) => e.code));
  assert.equal(err, 'forbidden');
  await context.close();
});

test('axe: the approvals tab with the list, the form and an error, in both languages', async () => {
  const found = await axeInBothLocales(async (locale) => {
    const r = await approvals({ locale });
    await r.page.getByTestId('adjustments').locator('tr[data-id=adj-0002] button').first().click();
    await r.page.getByTestId('adjustments-error').waitFor();
    return r;
  });
  assert.deepEqual(found, []);
});
