import test from 'node:test';
import assert from 'node:assert/strict';
import { useBrowser, openApp, callsOf, screenshot, axeInBothLocales } from './support.mjs';

const env = useBrowser(test);

async function counts(config = {}) {
  const r = await openApp(env.browser, env.base, { loggedIn: true, role: 'supervisor', locale: 'en', ...config });
  await r.page.getByTestId('nav-supervisor').click();
  await r.page.getByTestId('tab-counts').click();
  await r.page.getByTestId('counts').waitFor();
  return r;
}

const rowTexts = (page) =>
  page.locator('[data-testid=counts] tbody tr').evaluateAll((trs) => trs.map((tr) => [...tr.cells].map((c) => c.innerText.trim())));

test('cycle counts: the server\'s list; open, enter the count (Enter key), approve; by status', async () => {
  const { page, context, problems } = await counts();
  assert.deepEqual((await callsOf(page, 'counts'))[0].args, { status: null, limit: null });
  await page.getByTestId('count-count').getByText('1 counts').waitFor();
  assert.deepEqual((await rowTexts(page))[0].slice(0, 8), ['27 Nov 2026, 10:00', 'CUP-YUNOMI', 'A-01-01-02', '', 'Counted', '40', '38', '-2']);

  const form = page.getByTestId('count-form');
  await form.getByLabel('SKU').fill('TEA-GREEN-100');
  await form.getByLabel('Location').fill('A-01-01-02');
  await form.getByRole('button', { name: 'Open count' }).click();
  await page.getByTestId('count-notice').getByText('Count opened for TEA-GREEN-100 at A-01-01-02.').waitFor();
  assert.deepEqual((await callsOf(page, 'count_create'))[0].args, { sku: 'TEA-GREEN-100', location: 'A-01-01-02', lot: null });
  await page.getByTestId('count-count').getByText('2 counts').waitFor();
  assert.deepEqual((await rowTexts(page))[0].slice(0, 8), ['28 Nov 2026, 19:00', 'TEA-GREEN-100', 'A-01-01-02', '', 'Open', '', '', '']);

  // Not counted yet: no decision offered.
  assert.equal(await page.getByRole('button', { name: 'Reject the count of TEA-GREEN-100 at A-01-01-02' }).count(), 0);
  await page.getByLabel('Counted quantity of TEA-GREEN-100 at A-01-01-02').fill('37');
  await page.getByLabel('Counted quantity of TEA-GREEN-100 at A-01-01-02').press('Enter');
  await page.getByTestId('count-notice').getByText('Count of TEA-GREEN-100 entered: variance -3.').waitFor();
  assert.deepEqual((await callsOf(page, 'count_enter'))[0].args, { id: 'cnt-0002', counted: 37 });
  assert.deepEqual((await rowTexts(page))[0].slice(4, 8), ['Counted', '40', '37', '-3']);

  await page.getByRole('button', { name: 'Approve the count of TEA-GREEN-100 at A-01-01-02' }).click();
  await page.getByTestId('count-notice').getByText('Count of TEA-GREEN-100 approved: the variance is posted.').waitFor();
  assert.deepEqual((await callsOf(page, 'count_decide'))[0].args, { id: 'cnt-0002', approve: true });
  assert.equal((await rowTexts(page))[0][4], 'Approved');
  await screenshot(page, 'supervisor-counts');

  // By status: those waiting for a decision.
  await page.getByLabel('Status', { exact: true }).selectOption({ label: 'Counted' });
  await page.getByTestId('count-count').getByText('1 counts').waitFor();
  assert.deepEqual((await callsOf(page, 'counts')).at(-1).args, { status: 'counted', limit: null });
  await page.getByRole('button', { name: 'Reject the count of CUP-YUNOMI at A-01-01-02' }).click();
  await page.getByTestId('count-notice').getByText('Count of CUP-YUNOMI rejected.').waitFor();
  await page.getByTestId('counts-empty').getByText('No cycle counts in this status.').waitFor();

  // A negative count is refused here; nothing sent.
  await page.getByLabel('Status', { exact: true }).selectOption({ label: 'All' });
  await form.getByLabel('SKU').fill('CUP-YUNOMI');
  await form.getByLabel('Location').fill('B-02-01-03');
  await form.getByRole('button', { name: 'Open count' }).click();
  await page.getByLabel('Counted quantity of CUP-YUNOMI at B-02-01-03').fill('-1');
  await page.getByRole('button', { name: 'Enter the count of CUP-YUNOMI at B-02-01-03' }).click();
  await page.getByTestId('counts-error').getByText('Enter a whole number, 0 or more.').waitFor();
  assert.equal((await callsOf(page, 'count_enter')).length, 1);

  // The list is the server's: leaving the tab and coming back reads it again.
  await page.getByTestId('tab-inventory').click();
  await page.getByTestId('tab-counts').click();
  await page.getByTestId('count-count').getByText('3 counts').waitFor();
  assert.deepEqual(problems, []);
  await context.close();
});

test('counts: the server\'s refusals are the catalog messages (lot_required, count_not_counted)', async () => {
  const { page, context } = await counts({
    failNext: {
      count_create: { code: 'lot_required', message: 'JP-00001 is lot-tracked: give the lot' },
      count_decide: { code: 'count_not_counted', message: 'this count is open: enter the count first' },
    },
  });
  const form = page.getByTestId('count-form');
  await form.getByLabel('SKU').fill('SNACK-SENBEI');
  await form.getByLabel('Location').fill('B-02-01-03');
  await form.getByRole('button', { name: 'Open count' }).click();
  await page.getByTestId('counts-error').getByText('This SKU is lot tracked: enter its lot.').waitFor();
  await form.getByLabel('Lot (if tracked)').fill('L2026-03');
  await form.getByRole('button', { name: 'Open count' }).click();
  await page.getByTestId('count-count').getByText('2 counts').waitFor();
  await page.getByRole('button', { name: 'Approve the count of CUP-YUNOMI at A-01-01-02' }).click();
  await page.getByTestId('counts-error').getByText('Enter the counted quantity before approving or rejecting this count.').waitFor();
  await context.close();
});

test('counts in Japanese: dates, numbers and statuses in the locale', async () => {
  const { page, context } = await counts({ locale: 'ja' });
  await page.getByTestId('count-count').getByText('1 件').waitFor();
  assert.deepEqual((await rowTexts(page))[0].slice(0, 8), ['2026/11/27 10:00', 'CUP-YUNOMI', 'A-01-01-02', '', '入力済み', '40', '38', '-2']);
  await context.close();
});

test('axe: the counts tab with the list and an error, in both languages', async () => {
  const found = await axeInBothLocales(async (locale) => {
    const r = await counts({ locale });
    await r.page.getByTestId('count-form').locator('button[type=submit]').click();
    await r.page.getByTestId('counts-error').waitFor();
    return r;
  });
  assert.deepEqual(found, []);
});
