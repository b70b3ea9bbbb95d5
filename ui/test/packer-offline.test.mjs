// The packer screen with the server unreachable: scans and packages recorded offline (in the
// outbox, sent when the connection returns), pre-printed labels, and what cannot be done offline.
import test from 'node:test';
import assert from 'node:assert/strict';
import { useBrowser, scan, callsOf, screenshot, axe } from './support.mjs';
import { packerPage as openPacker, untilLotAsked } from './packer-support.mjs';

const env = useBrowser(test);

// A Yamato number that checks out (the first 11 digits mod 7 = 3), and one misread digit.
const LABEL = '123456789013';
const MISREAD = '123456789014';

const packerPage = (config = {}) => openPacker(env, config);

const packed = (page, order = 0) => page.evaluate((o) => window.__mock.orders[o].lines.map((l) => l.packed), order);
const packages = (page, order = 0) => page.evaluate((o) => window.__mock.orders[o].packages, order);

/** Opens ord-1 and scans every item: the package step. */
async function packAll(page) {
  await scan(page, 'PL0001');
  await page.getByTestId('order-id').waitFor();
  for (const code of ['4901234567894', '4901234567894', '4901234567900']) await scan(page, code);
  await page.getByTestId('package-form').waitFor();
}

test('a scan recorded offline ticks the line and says calmly it will be sent later; online, no notice', async () => {
  const { page, context, problems } = await packerPage({ online: false });
  await page.getByTestId('offline-banner').waitFor();
  await scan(page, 'PL0001');
  await page.getByTestId('order-id').waitFor();
  await scan(page, '4901234567900');
  await page.locator('[data-testid=line-2][data-done=true]').waitFor();
  assert.equal(await page.getByTestId('qty-2').innerText(), '1 / 1');
  const note = page.getByTestId('recorded-offline');
  assert.equal(await note.innerText(), 'Recorded offline — it will be sent when the connection returns.');
  // A notice, not an alarm: a status region, and no alert on the screen.
  assert.equal(await note.getAttribute('role'), 'status');
  assert.equal(await page.getByRole('alert').count(), 0);
  assert.match(await page.getByTestId('scan-ok').innerText(), /CUP-YUNOMI: 1 of 1/);
  await page.getByTestId('outbox').getByText('Outbox: 1').waitFor();
  await screenshot(page, 'packer-offline-scan');

  // A refused scan counts nothing and the notice goes (it spoke of the last scan).
  await scan(page, '4909999999999');
  await page.getByRole('alert').getByText(/Wrong item/).waitFor();
  assert.equal(await note.count(), 0);
  assert.deepEqual(await packed(page), [0, 1]);

  // Back online: a scan the server takes shows no notice.
  await page.evaluate(() => window.__mock.setOnline(true));
  await scan(page, '4901234567894');
  await page.locator('[data-testid=qty-1]', { hasText: '1 / 2' }).waitFor();
  assert.equal(await note.count(), 0);
  assert.deepEqual(problems, []);
  await context.close();
});

test('offline package with a pre-printed label, keyboard only: a misread number is refused, then dispatch is queued', async () => {
  const { page, context, problems } = await packerPage({ online: false });
  await packAll(page);
  await page.getByTestId('outbox').getByText('Outbox: 3').waitFor();

  // Offline the pre-printed label is on, and the screen says why.
  assert.equal(await page.getByTestId('preprinted-toggle').isChecked(), true);
  assert.match(await page.getByTestId('preprinted-help').innerText(), /Offline, labels cannot be booked or printed/);
  await screenshot(page, 'packer-offline-package');

  // Box (focused), weight, the toggle, the carrier, the number: Tab, keys and Enter only.
  assert.equal(await page.evaluate(() => document.activeElement?.id), 'box');
  await page.keyboard.press('Tab');
  await page.keyboard.type('700');
  await page.keyboard.press('Tab');
  assert.equal(await page.evaluate(() => document.activeElement?.dataset.testid), 'preprinted-toggle');
  await page.keyboard.press('Tab');
  assert.equal(await page.evaluate(() => document.activeElement?.id), 'label-carrier');
  await page.keyboard.press('ArrowDown'); // sagawa
  await page.keyboard.press('ArrowUp'); // back to yamato
  await page.keyboard.press('Tab');
  assert.equal(await page.evaluate(() => document.activeElement?.id), 'tracking-number');

  // Nothing typed: asked for the number, nothing sent.
  await page.keyboard.press('Enter');
  await page.getByRole('alert').getByText('Enter the tracking number of the label.').waitFor();
  assert.equal((await callsOf(page, 'add_package')).length, 0);

  await page.keyboard.type(MISREAD);
  await page.keyboard.press('Enter');
  await page.getByRole('alert').getByText(/does not check out: a digit was misread or mistyped/).waitFor();
  assert.deepEqual(await packages(page), [], 'nothing recorded');
  assert.equal(await page.getByTestId('prompt').getAttribute('data-phase'), 'package');

  await page.keyboard.press('Control+A');
  await page.keyboard.type('1234-5678-9013');
  await page.keyboard.press('Enter');
  await page.getByTestId('preprinted-note').waitFor();
  assert.deepEqual((await callsOf(page, 'add_package')).map((c) => c.args), [
    { orderId: 'ord-1', boxType: '60', weightG: 700, carrier: 'yamato', trackingNumber: MISREAD },
    { orderId: 'ord-1', boxType: '60', weightG: 700, carrier: 'yamato', trackingNumber: '1234-5678-9013' },
  ]);
  assert.equal(await page.getByTestId('recorded-offline').innerText(), 'Recorded offline — it will be sent when the connection returns.');
  assert.match(await page.getByTestId('tracking').innerText(), new RegExp(LABEL));
  assert.match(await page.getByTestId('preprinted-note').innerText(), /Pre-printed label \(Yamato Transport\): scan it to dispatch/);
  // Nothing to print, reprint or void here; straight to the label scan.
  assert.equal(await page.getByTestId('prompt').getAttribute('data-phase'), 'dispatch');
  for (const id of ['print', 'reprint', 'void']) assert.equal(await page.getByTestId(id).count(), 0, id);
  await page.keyboard.press('F8');
  assert.equal(await page.getByTestId('void-dialog').isVisible(), false);
  await page.getByTestId('outbox').getByText('Outbox: 4').waitFor();
  assert.equal((await callsOf(page, 'label_preview')).length, 0);
  await screenshot(page, 'packer-offline-preprinted');

  await scan(page, LABEL);
  await page.getByText(/Dispatch of 503-1234567-1234567 queued \(offline\)/).waitFor();
  await page.getByTestId('outbox').getByText('Outbox: 5').waitFor();
  assert.equal(await page.getByTestId('recorded-offline').count(), 0);
  assert.equal(await page.getByTestId('prompt').getAttribute('data-phase'), 'scanOrder');
  assert.deepEqual(problems, []);
  await context.close();
});

test('online, a pre-printed label is an option; a label scanned at the package step fills the number', async () => {
  const { page, context } = await packerPage();
  await packAll(page);
  assert.equal(await page.getByTestId('preprinted-toggle').isChecked(), false);
  assert.equal(await page.getByTestId('tracking-number').count(), 0);
  await page.getByTestId('preprinted-toggle').check();
  await page.locator('#label-carrier').selectOption('sagawa');
  await page.locator('#weight').fill('450');
  // The scanner, with nothing focused, reads the label into the number field.
  await page.evaluate(() => document.activeElement?.blur());
  await scan(page, LABEL);
  assert.equal(await page.getByTestId('tracking-number').inputValue(), LABEL);
  await page.getByRole('button', { name: 'Add package' }).click();
  await page.getByTestId('preprinted-note').waitFor();
  assert.deepEqual((await callsOf(page, 'add_package'))[0].args, { orderId: 'ord-1', boxType: '60', weightG: 450, carrier: 'sagawa', trackingNumber: LABEL });
  assert.equal(await page.getByTestId('recorded-offline').count(), 0, 'the server took it');
  await context.close();
});

test('offline without a pre-printed label: booking is refused plainly (label_unavailable_offline)', async () => {
  const { page, context } = await packerPage({ online: false });
  await packAll(page);
  await page.getByTestId('preprinted-toggle').uncheck();
  await page.locator('#weight').fill('900');
  await page.locator('#weight').press('Enter');
  await page.getByTestId('carrier-form').waitFor();
  assert.match(await page.getByTestId('book-offline').innerText(), /Offline: labels cannot be booked or printed now/);
  await page.locator('#carrier').press('Enter');
  await page.getByRole('alert').getByText(/Offline, labels cannot be booked or printed: that needs the server. Use a pre-printed label/).waitFor();
  assert.equal(await page.getByTestId('prompt').getAttribute('data-phase'), 'carrier');
  await context.close();
});

test('a lot scanned offline cannot be checked (lot_unverifiable_offline); the item without its lot is recorded', async () => {
  const { page, context } = await packerPage();
  await untilLotAsked(page);
  // The connection goes before the lot is scanned.
  await page.evaluate(() => window.__mock.setOnline(false));
  await page.getByTestId('offline-banner').waitFor();
  await scan(page, 'LOT-2026-11');
  await page.getByRole('alert').getByText(/Offline, the lot cannot be checked against this order. Scan the item without its lot/).waitFor();
  assert.deepEqual(await packed(page, 1), [0]);
  await screenshot(page, 'packer-offline-lot');
  await scan(page, '4901234567917');
  await page.getByTestId('recorded-offline').waitFor();
  assert.deepEqual(await packed(page, 1), [1]);
  assert.deepEqual((await callsOf(page, 'scan_item')).map((c) => c.args.lot), [null, 'LOT-2026-11', null]);
  await context.close();
});

test('offline packing in Japanese, and axe in both languages (notice, package step, pre-printed label)', async () => {
  const found = {};
  for (const locale of ['en', 'ja']) {
    const { page, context } = await packerPage({ online: false, locale });
    await scan(page, 'PL0001');
    await page.getByTestId('order-id').waitFor();
    for (const code of ['4901234567894', '4901234567894', '4901234567900']) await scan(page, code);
    await page.getByTestId('package-form').waitFor();
    await page.getByTestId('recorded-offline').waitFor();
    if (locale === 'ja') {
      assert.equal(await page.getByTestId('recorded-offline').innerText(), 'オフラインで記録しました。接続が戻ると送信されます。');
      assert.match(await page.getByTestId('preprinted-help').innerText(), /オフラインでは送り状の発行・印刷はできません/);
    }
    found[`package/${locale}`] = await axe(page);
    await page.locator('#weight').fill('700');
    await page.getByTestId('tracking-number').fill(LABEL);
    await page.getByTestId('tracking-number').press('Enter');
    await page.getByTestId('preprinted-note').waitFor();
    found[`label/${locale}`] = await axe(page);
    await screenshot(page, `packer-offline-preprinted-${locale}`);
    await context.close();
  }
  for (const [k, v] of Object.entries(found)) assert.deepEqual(v, [], k);
});
