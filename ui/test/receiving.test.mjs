import test from 'node:test';
import assert from 'node:assert/strict';
import { useBrowser, openApp, callsOf, screenshot, scan, axeInBothLocales } from './support.mjs';

const env = useBrowser(test);

async function receiving(config = {}) {
  const r = await openApp(env.browser, env.base, { loggedIn: true, role: 'supervisor', locale: 'en', ...config });
  await r.page.getByTestId('nav-supervisor').click();
  await r.page.getByTestId('tab-receiving').click();
  await r.page.getByTestId('inbound').waitFor();
  // The locations are in: the receiving bin is the form's default.
  await r.page.waitForFunction(() => document.querySelector('#r-loc')?.value === 'RCV-01-01');
  return r;
}

const rowTexts = (page, testid) =>
  page.locator(`[data-testid=${testid}] tbody tr`).evaluateAll((trs) => trs.map((tr) => [...tr.cells].map((c) => c.innerText.trim())));

/** Nothing focused: the next keys are a scan "anywhere on the screen". */
const blur = (page) => page.evaluate(() => document.activeElement?.blur());

test('receiving: open shipments with expected vs received; a line received by scan; a lot-tracked line asks for lot and expiry; putaway to storage', async () => {
  const { page, context, problems } = await receiving();
  assert.deepEqual((await callsOf(page, 'inbound_shipments'))[0].args, { status: 'open', limit: null });
  await page.getByTestId('inbound-count').getByText('1 shipments').waitFor();
  assert.deepEqual(await rowTexts(page, 'inbound'), [['ASN-2026-0042', '1 Dec 2026', '2', '10 / 36', 'Open', '28 Nov 2026, 10:00', 'Receive']]);
  await page.getByTestId('putaway-empty').getByText('Nothing is waiting in the receiving bins.').waitFor();

  await page.getByRole('button', { name: 'Receive against ASN-2026-0042' }).click();
  await page.getByRole('heading', { name: 'Receive against ASN-2026-0042' }).waitFor();
  assert.equal(await page.getByLabel('Against', { exact: true }).inputValue(), 'in-0002');
  assert.deepEqual(await rowTexts(page, 'inbound-lines'), [
    ['1', 'TEA-GREEN-100', '24', '10', '14', 'Receive'],
    ['2', 'SNACK-SENBEI', '12', '0', '12', 'Receive'],
  ]);
  assert.equal(await page.evaluate(() => document.activeElement?.id), 'r-sku', 'ready for the scan');

  // The product's barcode scanned with nothing focused fills the SKU; the quantity is next.
  await blur(page);
  await scan(page, '4901234567894');
  await page.getByTestId('sku-found').getByText('TEA-GREEN-100: 静岡煎茶 100g').waitFor();
  assert.equal(await page.getByLabel('SKU or barcode').inputValue(), '4901234567894');
  await page.waitForFunction(() => document.activeElement?.id === 'r-qty');
  assert.equal(await page.getByLabel('Lot', { exact: true }).count(), 0, 'not lot tracked: no lot asked for');
  await page.keyboard.press('Control+A');
  await page.keyboard.type('4');
  await page.keyboard.press('Enter');
  await page.getByTestId('receive-notice').getByText('Received 4 × TEA-GREEN-100 into RCV-01-01 against ASN-2026-0042.').waitFor();
  assert.deepEqual((await callsOf(page, 'receive'))[0].args, { inboundId: 'in-0002', sku: 'TEA-GREEN-100', quantity: 4, location: 'RCV-01-01', lot: null, expiry: null, reference: null });
  await page.locator('[data-testid=inbound] tbody tr').getByText('14 / 36').waitFor();
  assert.deepEqual((await rowTexts(page, 'inbound-lines'))[0], ['1', 'TEA-GREEN-100', '24', '14', '10', 'Receive']);
  assert.equal(await page.getByLabel('SKU or barcode').inputValue(), '', 'ready for the next item');

  // The lot-tracked line: lot and expiry are required.
  await page.getByRole('button', { name: 'Receive the 12 outstanding of SNACK-SENBEI' }).click();
  await page.getByTestId('sku-found').getByText('SNACK-SENBEI: 草加せんべい · lot tracked: enter the lot and its expiry date').waitFor();
  assert.equal(await page.getByLabel('Quantity', { exact: true }).inputValue(), '12');
  await page.getByRole('button', { name: 'Receive', exact: true }).last().click();
  await page.getByTestId('receive-error').getByText('SNACK-SENBEI is lot tracked: enter the lot and its expiry date.').waitFor();
  assert.equal((await callsOf(page, 'receive')).length, 1, 'nothing sent');
  await page.getByLabel('Lot', { exact: true }).fill('L2026-12');
  await page.getByLabel('Expiry date', { exact: true }).fill('2027-06-30');
  await page.getByLabel('Delivery note (optional)').fill('DN-778');
  await page.getByLabel('Delivery note (optional)').press('Enter');
  await page.getByTestId('receive-notice').getByText('Received 12 × SNACK-SENBEI into RCV-01-01 against ASN-2026-0042.').waitFor();
  assert.deepEqual((await callsOf(page, 'receive'))[1].args, { inboundId: 'in-0002', sku: 'SNACK-SENBEI', quantity: 12, location: 'RCV-01-01', lot: 'L2026-12', expiry: '2027-06-30', reference: 'DN-778' });
  assert.equal(await page.getByTestId('receive-error').count(), 0);

  // Putaway: what lies in the receiving bin, moved to a storage bin.
  await page.locator('[data-testid=putaway] tbody tr').nth(1).waitFor();
  assert.deepEqual(await rowTexts(page, 'putaway'), [
    ['TEA-GREEN-100', '静岡煎茶 100g', '', '', 'RCV-01-01', '4', '', '', 'Put away'],
    ['SNACK-SENBEI', '草加せんべい', 'L2026-12', '30 Jun 2027', 'RCV-01-01', '12', '', '', 'Put away'],
  ]);
  await screenshot(page, 'supervisor-receiving');
  await page.getByLabel('Storage bin for TEA-GREEN-100 from RCV-01-01').fill('A-01-01-01');
  await page.getByRole('button', { name: 'Put away TEA-GREEN-100 from RCV-01-01' }).click();
  await page.getByTestId('putaway-notice').getByText('Put away 4 × TEA-GREEN-100 to A-01-01-01.').waitFor();
  assert.deepEqual((await callsOf(page, 'putaway'))[0].args, { sku: 'TEA-GREEN-100', from: 'RCV-01-01', to: 'A-01-01-01', quantity: 4, lot: null });
  // Part of the lot, by keyboard (Enter in the quantity field).
  await page.getByLabel('Storage bin for SNACK-SENBEI from RCV-01-01').fill('A-01-01-02');
  await page.getByLabel('Quantity of SNACK-SENBEI to put away from RCV-01-01').fill('5');
  await page.getByLabel('Quantity of SNACK-SENBEI to put away from RCV-01-01').press('Enter');
  await page.getByTestId('putaway-notice').getByText('Put away 5 × SNACK-SENBEI to A-01-01-02.').waitFor();
  assert.deepEqual((await callsOf(page, 'putaway'))[1].args, { sku: 'SNACK-SENBEI', from: 'RCV-01-01', to: 'A-01-01-02', quantity: 5, lot: 'L2026-12' });
  assert.deepEqual(await rowTexts(page, 'putaway'), [['SNACK-SENBEI', '草加せんべい', 'L2026-12', '30 Jun 2027', 'RCV-01-01', '7', '', '', 'Put away']]);

  // More than is there: the server's refusal, in the screen's words.
  await page.getByLabel('Storage bin for SNACK-SENBEI from RCV-01-01').fill('A-01-01-02');
  await page.getByLabel('Quantity of SNACK-SENBEI to put away from RCV-01-01').fill('8');
  await page.getByRole('button', { name: 'Put away SNACK-SENBEI from RCV-01-01' }).click();
  await page.getByTestId('putaway-error').getByText('Not that many are available in that bin: nothing was moved.').waitFor();
  assert.deepEqual(problems, []);
  await context.close();
});

test('blind receipt: a scanned bin label sets the location; refused receipts show the catalog message and keep the form', async () => {
  const { page, context } = await receiving();
  assert.equal(await page.getByLabel('Against', { exact: true }).inputValue(), '', 'blind until a shipment is chosen');
  await page.getByRole('heading', { name: 'Blind receipt' }).waitFor();
  await blur(page);
  await scan(page, 'A-01-01-02');
  await page.waitForFunction(() => document.querySelector('#r-loc')?.value === 'A-01-01-02');
  await blur(page);
  await scan(page, '4901234567900');
  await page.getByTestId('sku-found').getByText('CUP-YUNOMI: 有田焼 湯呑み').waitFor();
  await page.getByLabel('Quantity', { exact: true }).fill('3');
  await page.getByLabel('Quantity', { exact: true }).press('Enter');
  await page.getByTestId('receive-notice').getByText('Received 3 × CUP-YUNOMI into A-01-01-02 (blind receipt).').waitFor();
  assert.deepEqual((await callsOf(page, 'receive'))[0].args, { inboundId: null, sku: 'CUP-YUNOMI', quantity: 3, location: 'A-01-01-02', lot: null, expiry: null, reference: null });

  // Checked before sending: no quantity.
  await page.getByLabel('SKU or barcode').fill('CUP-YUNOMI');
  await page.getByLabel('Quantity', { exact: true }).fill('0');
  await page.getByLabel('Quantity', { exact: true }).press('Enter');
  await page.getByTestId('receive-error').getByText('Enter the SKU, a whole quantity of 1 or more and the location.').waitFor();
  assert.equal((await callsOf(page, 'receive')).length, 1);

  // More than announced: over_receipt; the form keeps what was typed.
  await page.getByLabel('Against', { exact: true }).selectOption({ label: 'ASN-2026-0042' });
  await page.getByLabel('SKU or barcode').fill('TEA-GREEN-100');
  await page.getByLabel('Quantity', { exact: true }).fill('50');
  await page.getByLabel('Quantity', { exact: true }).press('Enter');
  const alert = page.getByTestId('receive-error');
  await alert.getByText('More than announced on this shipment: nothing was received. Receive the surplus as a blind receipt.').waitFor();
  assert.equal(await page.getByLabel('Quantity', { exact: true }).inputValue(), '50');
  assert.equal(await page.getByLabel('SKU or barcode').inputValue(), 'TEA-GREEN-100');
  await screenshot(page, 'supervisor-receiving-refused');

  // A code the catalogue does not know is sent as typed; the server's unknown_sku is shown.
  await page.getByLabel('Against', { exact: true }).selectOption({ label: 'Nothing announced (blind receipt)' });
  await page.getByLabel('SKU or barcode').fill('NO-SUCH-SKU');
  await page.getByLabel('SKU or barcode').press('Enter');
  await page.getByTestId('sku-found').getByText("NO-SUCH-SKU is not in this station's catalogue: it is sent as typed (sync to refresh the catalogue).").waitFor();
  // Not known whether lot tracked: lot and expiry are offered, not required.
  await page.getByLabel('Lot (if tracked)').waitFor();
  await page.getByLabel('Quantity', { exact: true }).fill('1');
  await page.getByLabel('Quantity', { exact: true }).press('Enter');
  await alert.getByText('No SKU with this code in this tenant.').waitFor();
  assert.deepEqual((await callsOf(page, 'receive')).at(-1).args, { inboundId: null, sku: 'NO-SUCH-SKU', quantity: 1, location: 'A-01-01-02', lot: null, expiry: null, reference: null });

  // An unknown location.
  await page.getByLabel('SKU or barcode').fill('CUP-YUNOMI');
  await page.getByLabel('Location', { exact: true }).fill('NOWHERE');
  await page.getByRole('button', { name: 'Receive', exact: true }).last().click();
  await alert.getByText('No location with this code in this warehouse.').waitFor();
  await context.close();
});

test('a SKU whose lot tracking this station does not know: lot offered, the server\'s lot_required shown', async () => {
  const { page, context } = await receiving({ lotUnknown: ['SNACK-SENBEI'] });
  await page.getByLabel('SKU or barcode').fill('4901234567917');
  await page.getByLabel('SKU or barcode').press('Enter');
  await page.getByTestId('sku-found').getByText('SNACK-SENBEI: 草加せんべい', { exact: true }).waitFor();
  await page.getByLabel('Lot (if tracked)').waitFor();
  await page.getByLabel('Quantity', { exact: true }).fill('2');
  await page.getByLabel('Quantity', { exact: true }).press('Enter');
  await page.getByTestId('receive-error').getByText('This SKU is lot tracked: enter the lot and its expiry date.').waitFor();
  // The seller SKU is sent, not the scanned barcode.
  assert.equal((await callsOf(page, 'receive'))[0].args.sku, 'SNACK-SENBEI');
  await page.getByLabel('Lot (if tracked)').fill('L2026-03');
  await page.getByLabel('Expiry date (if tracked)').fill('2027-01-31');
  await page.getByRole('button', { name: 'Receive', exact: true }).last().click();
  await page.getByTestId('receive-notice').getByText('Received 2 × SNACK-SENBEI into RCV-01-01 (blind receipt).').waitFor();
  await context.close();
});

test('announce an inbound shipment with two lines, then receive against it; a reference taken is refused', async () => {
  const { page, context } = await receiving();
  await page.getByText('Announce an inbound shipment').click();
  const form = page.getByRole('form', { name: 'Announce an inbound shipment' });
  await form.getByLabel('Supplier reference (ASN)').fill('ASN-2026-0043');
  await form.getByLabel('Expected on').fill('2026-12-05');
  await form.getByLabel('SKU, line 1').fill('CUP-YUNOMI');
  await form.getByLabel('Quantity, line 1').fill('6');
  await form.getByRole('button', { name: 'Add a line' }).click();
  assert.equal(await page.evaluate(() => document.activeElement?.id), 'asn-sku-1', 'the new line has the focus');
  await page.keyboard.type('TEA-GREEN-100');
  await form.getByLabel('Quantity, line 2').fill('0');
  await form.getByRole('button', { name: 'Announce' }).click();
  await page.getByTestId('inbound-new-error').getByText('Enter the reference and at least one line with a SKU and a whole quantity of 1 or more.').waitFor();
  assert.equal((await callsOf(page, 'inbound_create')).length, 0);
  await form.getByLabel('Quantity, line 2').fill('12');
  await form.getByRole('button', { name: 'Announce' }).click();
  await page.getByTestId('receive-notice').getByText('Inbound shipment ASN-2026-0043 announced.').waitFor();
  assert.deepEqual((await callsOf(page, 'inbound_create'))[0].args, {
    reference: 'ASN-2026-0043',
    expectedOn: '2026-12-05',
    lines: [
      { sku: 'CUP-YUNOMI', quantity: 6 },
      { sku: 'TEA-GREEN-100', quantity: 12 },
    ],
  });
  // Listed, chosen for the receipt form, the SKU field focused.
  await page.getByTestId('inbound-count').getByText('2 shipments').waitFor();
  await page.getByRole('heading', { name: 'Receive against ASN-2026-0043' }).waitFor();
  assert.equal(await page.evaluate(() => document.activeElement?.id), 'r-sku');
  assert.deepEqual((await rowTexts(page, 'inbound'))[0].slice(0, 5), ['ASN-2026-0043', '5 Dec 2026', '2', '0 / 18', 'Open']);

  // The form stays open for the next one.
  await form.getByLabel('Supplier reference (ASN)').fill('ASN-2026-0042');
  await form.getByLabel('SKU, line 1').fill('CUP-YUNOMI');
  await form.getByRole('button', { name: 'Announce' }).click();
  await page.getByTestId('inbound-new-error').getByText('An inbound shipment with this reference already exists.').waitFor();

  // The received ones, by status.
  await page.getByLabel('Status', { exact: true }).selectOption({ label: 'Received' });
  await page.getByTestId('inbound-count').getByText('1 shipments').waitFor();
  assert.deepEqual((await rowTexts(page, 'inbound'))[0], ['ASN-2026-0041', '20 Nov 2026', '1', '6 / 6', 'Received', '19 Nov 2026, 11:00', '']);
  // The list's status, and the open ones for the form's choice.
  assert.deepEqual((await callsOf(page, 'inbound_shipments')).slice(-2).map((c) => c.args.status), ['received', 'open']);
  await context.close();
});

test('receiving in Japanese: dates and numbers in the locale, the server\'s refusal as the catalog message', async () => {
  const { page, context } = await receiving({ locale: 'ja', failNext: { receive: { code: 'inbound_closed', message: 'this inbound shipment is already fully received' } } });
  await page.getByTestId('inbound-count').getByText('1 件').waitFor();
  assert.deepEqual((await rowTexts(page, 'inbound'))[0].slice(0, 6), ['ASN-2026-0042', '2026/12/01', '2', '10 / 36', '入荷待ち', '2026/11/28 10:00']);
  await page.getByRole('button', { name: 'ASN-2026-0042 の入荷を登録' }).click();
  await page.getByRole('button', { name: 'TEA-GREEN-100 の未入荷 14 点を入荷' }).click();
  await page.getByLabel('数量', { exact: true }).press('Enter');
  await page.getByTestId('receive-error').getByText('この入荷予定はすべて入荷済みです。').waitFor();
  await screenshot(page, 'supervisor-receiving-ja');
  await context.close();
});

test('receiving by keyboard only: arrow to the tab, Tab to the shipment, type the code and the quantity', async () => {
  const { page, context } = await openApp(env.browser, env.base, { loggedIn: true, role: 'supervisor', locale: 'en' });
  await page.getByTestId('nav-supervisor').click();
  await page.getByTestId('tab-inventory').focus();
  for (let i = 0; i < 3; i++) await page.keyboard.press('ArrowRight');
  assert.equal(await page.evaluate(() => document.activeElement?.id), 'tab-receiving');
  await page.getByTestId('inbound').waitFor();
  let name = '';
  for (let i = 0; i < 15 && name !== 'Receive against ASN-2026-0042'; i++) {
    await page.keyboard.press('Tab');
    name = await page.evaluate(() => document.activeElement?.getAttribute('aria-label') ?? '');
  }
  assert.equal(name, 'Receive against ASN-2026-0042');
  assert.notEqual(await page.evaluate(() => getComputedStyle(document.activeElement).outlineStyle), 'none', 'focus is visible');
  await page.keyboard.press('Enter');
  await page.waitForFunction(() => document.activeElement?.id === 'r-sku');
  await page.keyboard.type('TEA-GREEN-100');
  await page.keyboard.press('Enter');
  await page.waitForFunction(() => document.activeElement?.id === 'r-qty');
  await page.keyboard.press('Control+A');
  await page.keyboard.type('2');
  await page.keyboard.press('Enter');
  await page.getByTestId('receive-notice').getByText('Received 2 × TEA-GREEN-100 into RCV-01-01 against ASN-2026-0042.').waitFor();
  await context.close();
});

test('axe: the receiving tab with a shipment chosen, lot fields, an error, putaway and the announce form, in both languages', async () => {
  const found = await axeInBothLocales(async (locale) => {
    const r = await receiving({ locale });
    await r.page.locator('[data-testid=inbound] tbody button').first().click();
    // One line received (something to put away), the lot-tracked one refused without its lot.
    await r.page.locator('[data-testid=inbound-lines] tbody button').first().click();
    await r.page.locator('[data-testid=receive-form] button[type=submit]').click();
    await r.page.getByTestId('receive-notice').waitFor();
    await r.page.locator('[data-testid=inbound-lines] tbody button').last().click();
    await r.page.locator('#r-lot').waitFor();
    await r.page.locator('[data-testid=receive-form] button[type=submit]').click();
    await r.page.getByTestId('receive-error').waitFor();
    await r.page.getByTestId('putaway').waitFor();
    await r.page.locator('[data-testid=inbound-new] summary').click();
    return r;
  });
  assert.deepEqual(found, []);
});
