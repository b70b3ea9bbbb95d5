import test from 'node:test';
import assert from 'node:assert/strict';
import { useBrowser, scan, callsOf, screenshot, recordTones } from './support.mjs';
import { packerPage as openPacker, untilLotAsked, untilCarrierStep } from './packer-support.mjs';

const env = useBrowser(test);

const packerPage = (config = {}) => openPacker(env, config);

const tones = (page) => page.evaluate(() => window.__tones ?? []);
const packed = (page, order = 0) => page.evaluate((o) => window.__mock.orders[o].lines.map((l) => l.packed), order);

test('scanning an order then the right item ticks the line with a high beep', async () => {
  const { page, context, problems } = await packerPage();
  await recordTones(page);
  // Nothing is focused on purpose: the wedge listener picks the keys up anywhere.
  await scan(page, 'PL0001');
  await page.getByTestId('order-id').waitFor();
  assert.match(await page.getByTestId('order-id').innerText(), /503-1234567-1234567/);
  assert.equal(await page.getByTestId('qty-1').innerText(), '0 / 2');

  await scan(page, '4901234567900');
  await page.locator('[data-testid=line-2][data-done=true]').waitFor();
  assert.equal(await page.getByTestId('qty-2').innerText(), '1 / 1');
  assert.match(await page.getByTestId('scan-ok').innerText(), /CUP-YUNOMI: 1 of 1/);
  assert.deepEqual(await packed(page), [0, 1]);
  const t = await tones(page);
  assert.ok(t.length >= 1 && t.every((f) => f > 1000), `only high tones so far: ${t}`);
  assert.deepEqual(
    (await callsOf(page, 'scan_item')).map((c) => c.args),
    [{ orderId: 'ord-1', barcode: '4901234567900', lot: null }],
  );
  await screenshot(page, 'packer-scanning');
  assert.deepEqual(problems, []);
  await context.close();
});

test('a wrong item and an over-quantity scan show a red alert, a low tone, and count nothing', async () => {
  const { page, context } = await packerPage();
  await recordTones(page);
  await scan(page, '503-1234567-1234567');
  await page.getByTestId('order-id').waitFor();

  await scan(page, '4909999999999'); // a product of the tenant, not on this order
  const alert = page.getByRole('alert');
  await alert.waitFor();
  assert.match(await alert.innerText(), /Wrong item/);
  assert.deepEqual(await packed(page), [0, 0]);
  assert.equal(await page.getByTestId('qty-1').innerText(), '0 / 2');
  const t = await tones(page);
  assert.ok(t.at(-1) < 400, `last tone is the low error tone: ${t}`);
  // The alert spans the width of the screen.
  const box = await alert.boundingBox();
  const main = await page.locator('main').boundingBox();
  assert.ok(box.width > main.width * 0.9);
  assert.equal(await alert.evaluate((el) => getComputedStyle(el).backgroundColor), 'rgb(176, 0, 32)');
  await screenshot(page, 'packer-wrong-item');

  await scan(page, '4901234567900');
  await page.locator('[data-testid=line-2][data-done=true]').waitFor();
  assert.equal(await page.getByRole('alert').count(), 0, 'a good scan clears the alert');
  await scan(page, '4901234567900');
  await page.getByRole('alert').waitFor();
  assert.match(await page.getByRole('alert').innerText(), /Too many/);
  assert.deepEqual(await packed(page), [0, 1]);

  await scan(page, '1111111111116');
  await page.getByText(/Unknown barcode/).waitFor();
  assert.deepEqual(await packed(page), [0, 1]);
  await context.close();
});

test('full flow by keyboard only: pack, package, book, print (F2), label mismatch, dispatch', async () => {
  const { page, context, problems } = await packerPage();
  await scan(page, 'PL0001');
  await page.getByTestId('order-id').waitFor();
  await scan(page, '4901234567894');
  await page.locator('[data-testid=qty-1]', { hasText: '1 / 2' }).waitFor();
  await scan(page, '4901234567894');
  await scan(page, '4901234567900');
  await page.getByTestId('package-form').waitFor();

  // The box select has focus; choose 80 with the keyboard, Tab to the weight, type, Enter.
  assert.equal(await page.evaluate(() => document.activeElement?.id), 'box');
  await page.keyboard.press('ArrowDown');
  await page.keyboard.press('Tab');
  await page.keyboard.type('1250');
  await page.keyboard.press('Enter');
  await page.getByTestId('carrier-form').waitFor();
  assert.deepEqual((await callsOf(page, 'add_package'))[0].args, { orderId: 'ord-1', boxType: '80', weightG: 1250, carrier: null, trackingNumber: null });

  assert.equal(await page.evaluate(() => document.activeElement?.id), 'carrier');
  await page.keyboard.press('ArrowDown'); // sagawa
  await page.keyboard.press('Enter');
  await page.getByTestId('label-step').waitFor();
  assert.deepEqual((await callsOf(page, 'book_label'))[0].args, { orderId: 'ord-1', seq: 1, carrier: 'sagawa' });
  await page.getByTestId('preview').waitFor();
  assert.match(await page.getByTestId('preview').getAttribute('src'), /^data:image\/png;base64,iVBOR/);
  assert.match(await page.getByTestId('tracking').innerText(), /987654321098/);
  await screenshot(page, 'packer-label');

  await page.keyboard.press('F2');
  await page.getByTestId('scan-label').waitFor();
  assert.deepEqual((await callsOf(page, 'print_label'))[0].args, { orderId: 'ord-1', seq: 1, reprintReason: null });

  await scan(page, '123456789012'); // someone else's label
  await page.getByRole('alert').waitFor();
  assert.match(await page.getByRole('alert').innerText(), /Wrong label/);
  assert.equal(await page.evaluate(() => window.__mock.orders[0].status), 'packed');

  await scan(page, '987654321098');
  await page.getByText(/Dispatched 503-1234567-1234567/).waitFor();
  assert.match(await page.getByTestId('scan-ok').innerText(), /Ready for the next order/);
  assert.equal(await page.getByTestId('prompt').getAttribute('data-phase'), 'scanOrder');
  // The foreign label was refused at the bench (nothing sent); the dispatch carries this parcel's label.
  assert.deepEqual((await callsOf(page, 'dispatch')).map((c) => c.args), [{ orderId: 'ord-1', labelScan: '987654321098', labelScans: ['987654321098'] }]);
  // The status strip heard station://status and shows the new dispatch as pending.
  await page.getByTestId('recent').getByText('503-1234567-1234567: pending').waitFor();
  await screenshot(page, 'packer-dispatched');
  assert.deepEqual(problems, []);
  await context.close();
});

test('reprint (F4) and void (F8) ask for a reason in a dialog', async () => {
  const { page, context } = await packerPage();
  await scan(page, 'PL0001');
  await page.getByTestId('order-id').waitFor();
  await untilCarrierStep(page);
  await page.keyboard.press('Enter');
  await page.getByTestId('print').waitFor();
  await page.keyboard.press('F2');
  await page.getByTestId('scan-label').waitFor();

  await page.keyboard.press('F4');
  const dlg = page.getByTestId('reprint-dialog');
  await dlg.waitFor();
  // Empty reason is refused.
  await page.keyboard.press('Enter');
  await dlg.getByText('A reason is required.').waitFor();
  await page.keyboard.type('label jammed');
  await page.keyboard.press('Enter');
  await dlg.waitFor({ state: 'hidden' });
  await page.getByText(/print 2/).waitFor();
  assert.deepEqual((await callsOf(page, 'print_label')).map((c) => c.args.reprintReason), [null, 'label jammed']);

  // Esc closes the dialog without cancelling the order.
  await page.keyboard.press('F8');
  await page.getByTestId('void-dialog').waitFor();
  await page.keyboard.press('Escape');
  await page.getByTestId('void-dialog').waitFor({ state: 'hidden' });
  assert.equal(await page.getByTestId('prompt').getAttribute('data-phase'), 'dispatch');

  await page.keyboard.press('F8');
  await page.getByTestId('void-dialog').waitFor();
  await page.keyboard.type('wrong carrier');
  await page.keyboard.press('Enter');
  await page.getByTestId('carrier-form').waitFor();
  assert.deepEqual((await callsOf(page, 'void_label'))[0].args, { orderId: 'ord-1', seq: 1, reason: 'wrong carrier' });

  // Esc cancels the order: back to scanning orders.
  await page.keyboard.press('Escape');
  await page.getByText('Order closed. Scan the next order.').waitFor();
  assert.equal(await page.getByTestId('prompt').getAttribute('data-phase'), 'scanOrder');
  await context.close();
});

test('a lot-tracked item asks for the lot, and the next scan is sent as the lot', async () => {
  const { page, context } = await packerPage();
  await untilLotAsked(page);
  await scan(page, 'LOT-9999');
  await page.getByText(/This lot is not allocated/).waitFor();
  await scan(page, '4901234567917');
  await page.getByRole('alert').waitFor();
  await scan(page, 'LOT-2026-11');
  await page.getByTestId('package-form').waitFor();
  const args = (await callsOf(page, 'scan_item')).map((c) => c.args);
  assert.deepEqual(args, [
    { orderId: 'ord-2', barcode: '4901234567917', lot: null },
    { orderId: 'ord-2', barcode: '4901234567917', lot: 'LOT-9999' },
    { orderId: 'ord-2', barcode: '4901234567917', lot: null },
    { orderId: 'ord-2', barcode: '4901234567917', lot: 'LOT-2026-11' },
  ]);
  await context.close();
});

test('typing slowly outside a field is not a scan, one stall does not split a scan, typing in a field is never hijacked', async () => {
  const { page, context } = await packerPage();
  await page.keyboard.type('PL0001\n', { delay: 250 });
  await page.waitForTimeout(200);
  assert.equal((await callsOf(page, 'open_order')).length, 0);

  // One stall in the middle of a fast scan (a busy machine) does not split it.
  await page.keyboard.type('PL00', { delay: 5 });
  await page.waitForTimeout(300);
  await page.keyboard.type('01\n', { delay: 5 });
  await page.getByTestId('order-id').waitFor();
  assert.deepEqual((await callsOf(page, 'open_order')).map((c) => c.args.code), ['PL0001']);
  await page.keyboard.press('Escape');

  // The manual field is the fallback for a broken scanner: its own Enter submits.
  await page.getByLabel('Type a barcode').fill('nonexistent-order');
  await page.getByLabel('Type a barcode').press('Enter');
  await page.getByRole('alert').waitFor();
  assert.match(await page.getByRole('alert').innerText(), /No order found for this code/);
  assert.deepEqual((await callsOf(page, 'open_order')).map((c) => c.args.code), ['PL0001', 'nonexistent-order']);
  await context.close();
});

test('carrier refusal and a missing printer are shown as catalog messages, nothing marked done', async () => {
  const { page, context } = await packerPage({ printerConfigured: false });
  await page.getByTestId('printer').getByText('Printer: not set up').waitFor();
  await scan(page, 'PL0001');
  await page.getByTestId('order-id').waitFor();
  await untilCarrierStep(page);
  // The carrier's refusal reason (detail.reason) fills the catalog message.
  await page.evaluate(() =>
    window.__mock.failNext('book_label', { code: 'carrier_refused', message: 'refused', detail: { reason: 'postal code not served' } }),
  );
  await page.keyboard.press('Enter');
  await page.getByRole('alert').getByText('The carrier refused the booking: postal code not served.').waitFor();
  assert.equal(await page.getByTestId('prompt').getAttribute('data-phase'), 'carrier');
  await page.locator('#carrier').focus();
  await page.keyboard.press('Enter');
  await page.getByTestId('print').waitFor();
  await page.keyboard.press('F2');
  await page.getByRole('alert').getByText('No label printer is set up for this station.').waitFor();
  assert.equal(await page.getByTestId('prompt').getAttribute('data-phase'), 'print');
  await context.close();
});
