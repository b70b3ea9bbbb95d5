// Several packages per order at the packing bench: "another package" (F3) adds a box with its own
// label, the order's packages are listed, every label is scanned back before the dispatch, and
// reprint/void work per package. Keyboard only, as a busy packer works.
import test from 'node:test';
import assert from 'node:assert/strict';
import { useBrowser, scan, callsOf, screenshot, recordTones, axeInBothLocales } from './support.mjs';
import { packerPage as openPacker, untilCarrierStep } from './packer-support.mjs';

const env = useBrowser(test);

const packerPage = (config = {}) => openPacker(env, config);
const tones = (page) => page.evaluate(() => window.__tones ?? []);
const phase = (page) => page.getByTestId('prompt').getAttribute('data-phase');
const focusedId = (page) => page.evaluate(() => document.activeElement?.id);
const orderStatus = (page) => page.evaluate(() => window.__mock.orders[0].status);

// The mock books package 1 with Yamato as 123456789012 and package 2 with Sagawa as 287654321098.
const LABEL_1 = '123456789012';
const LABEL_2 = '287654321098';

/** ord-1 packed in two boxes, keyboard only: 60 / 900 g with Yamato, then (F3) 80 / 1500 g with Sagawa; both printed. */
async function twoPackages(page) {
  await scan(page, 'PL0001');
  await page.getByTestId('order-id').waitFor();
  await untilCarrierStep(page);
  await page.keyboard.press('Enter'); // Yamato
  await page.getByTestId('print').waitFor();
  await page.keyboard.press('F2');
  await page.getByTestId('scan-label').waitFor();

  await page.keyboard.press('F3');
  await page.locator('[data-testid=package-form][data-adding=true]').waitFor();
  assert.equal(await focusedId(page), 'box');
  assert.equal(await page.getByTestId('prompt').getAttribute('data-phase'), 'package');
  await page.keyboard.press('ArrowDown'); // 80
  await page.keyboard.press('Tab');
  await page.keyboard.type('1500');
  await page.keyboard.press('Enter');
  await page.getByTestId('carrier-form').waitFor();
  assert.equal(await focusedId(page), 'carrier');
  await page.keyboard.press('ArrowDown'); // Sagawa
  await page.keyboard.press('Enter');
  await page.getByTestId('print').waitFor();
  await page.keyboard.press('F2');
  await page.locator('[data-testid=prompt][data-phase=dispatch]').waitFor();
  assert.equal((await callsOf(page, 'print_label')).length, 2);
}

test('two packages by keyboard only: both labels printed, a foreign label refused, dispatch only once both are scanned', async () => {
  const { page, context, problems } = await packerPage();
  await recordTones(page);
  await twoPackages(page);

  assert.deepEqual(
    (await callsOf(page, 'add_package')).map((c) => c.args),
    [
      { orderId: 'ord-1', boxType: '60', weightG: 900, carrier: null, trackingNumber: null },
      { orderId: 'ord-1', boxType: '80', weightG: 1500, carrier: null, trackingNumber: null },
    ],
  );
  assert.deepEqual(
    (await callsOf(page, 'book_label')).map((c) => c.args),
    [
      { orderId: 'ord-1', seq: 1, carrier: 'yamato' },
      { orderId: 'ord-1', seq: 2, carrier: 'sagawa' },
    ],
  );
  assert.deepEqual(
    (await callsOf(page, 'print_label')).map((c) => c.args),
    [
      { orderId: 'ord-1', seq: 1, reprintReason: null },
      { orderId: 'ord-1', seq: 2, reprintReason: null },
    ],
  );
  assert.deepEqual(
    (await callsOf(page, 'label_preview')).map((c) => c.args.seq),
    [1, 2],
    'each label previewed before its print',
  );

  // The list: box, weight, tracking number, printed, not yet scanned.
  const list = page.getByRole('table', { name: 'Packages of this order' });
  assert.equal(await list.locator('tbody tr').count(), 2);
  assert.deepEqual(await list.locator('[data-testid=package-1] td').allInnerTexts().then((c) => c.slice(0, 6)), ['1', '60', '900 g', LABEL_1, 'Printed', 'Not yet']);
  assert.deepEqual(await list.locator('[data-testid=package-2] td').allInnerTexts().then((c) => c.slice(0, 6)), ['2', '80', '1,500 g', LABEL_2, 'Printed', 'Not yet']);
  assert.match(await page.getByTestId('prompt').innerText(), /Scan each package's label to dispatch \(0 of 2 scanned\)/);
  await screenshot(page, 'packages-two-printed');

  // Another order's label (or none at all): error tone, red message, nothing counted, nothing sent.
  await scan(page, '999999999999');
  await page.getByRole('alert').getByText(/Wrong label/).waitFor();
  assert.ok((await tones(page)).at(-1) < 400, 'the low error tone');
  assert.equal(await page.locator('[data-verified=true]').count(), 0);
  assert.equal((await callsOf(page, 'dispatch')).length, 0);

  await scan(page, LABEL_1);
  await page.locator('[data-testid=package-1][data-verified=true]').waitFor();
  assert.match(await page.getByTestId('scan-ok').innerText(), /Label of package 1 checked \(1 of 2\)/);
  assert.equal(await page.getByRole('alert').count(), 0);
  assert.match(await page.getByTestId('prompt').innerText(), /\(1 of 2 scanned\)/);
  assert.equal(await page.getByTestId('package-1-scanned').textContent().then((x) => x.trim()), '✔Scanned');
  assert.equal((await callsOf(page, 'dispatch')).length, 0, 'one of two labels does not dispatch');
  assert.equal(await orderStatus(page), 'packed');

  // The same label again: said plainly, nothing counted twice.
  await scan(page, LABEL_1);
  await page.getByText('The label of package 1 was already scanned. Scan the label of another package.').waitFor();
  assert.equal(await page.locator('[data-verified=true]').count(), 1);
  assert.equal((await callsOf(page, 'dispatch')).length, 0);
  await screenshot(page, 'packages-one-scanned');

  // The second label (as a scanner with hyphens reads it): every label checked, dispatched.
  await scan(page, '2876-5432-1098');
  await page.getByText(/Dispatched 503-1234567-1234567/).waitFor();
  assert.deepEqual((await callsOf(page, 'dispatch')).map((c) => c.args), [
    { orderId: 'ord-1', labelScan: '2876-5432-1098', labelScans: [LABEL_1, '2876-5432-1098'] },
  ]);
  assert.equal(await orderStatus(page), 'shipped');
  assert.equal(await phase(page), 'scanOrder');
  assert.equal(await page.getByTestId('packages').count(), 0);
  await screenshot(page, 'packages-dispatched');
  assert.deepEqual(problems, []);
  await context.close();
});

test('a refused dispatch keeps the checked labels; F9 dispatches once every label is scanned', async () => {
  const { page, context } = await packerPage();
  await twoPackages(page);
  // F9 before every label is scanned does nothing.
  await page.keyboard.press('F9');
  assert.equal(await page.getByTestId('dispatch').count(), 0);
  await scan(page, LABEL_2);
  await page.locator('[data-testid=package-2][data-verified=true]').waitFor();
  await page.keyboard.press('F9');
  assert.equal((await callsOf(page, 'dispatch')).length, 0);

  // The shell refuses (here as if a package had been added at another bench meanwhile): said, kept.
  await page.evaluate(() => window.__mock.failNext('dispatch', { code: 'labels_unverified', message: 'not every label', detail: { packages: [3] } }));
  await scan(page, LABEL_1);
  await page.getByRole('alert').getByText("Not every package's label has been scanned back: scan the label of each parcel.").waitFor();
  assert.equal(await orderStatus(page), 'packed');
  assert.equal(await page.locator('[data-verified=true]').count(), 2, 'the checks stay');
  assert.match(await page.getByTestId('prompt').innerText(), /Every label is checked. Dispatch with F9./);
  await page.getByTestId('dispatch').waitFor();

  // A label scanned again now retries the dispatch (refused once more here), as F9 does.
  await page.evaluate(() => window.__mock.failNext('dispatch', { code: 'conflict', message: 'changed meanwhile' }));
  await scan(page, LABEL_2);
  await page.waitForFunction(() => window.__mock.callsOf('dispatch').length === 2);
  await page.getByRole('alert').waitFor();
  assert.equal(await orderStatus(page), 'packed');

  await page.keyboard.press('F9');
  await page.getByText(/Dispatched 503-1234567-1234567/).waitFor();
  const calls = (await callsOf(page, 'dispatch')).map((c) => c.args.labelScans);
  assert.deepEqual(calls, [
    [LABEL_2, LABEL_1],
    [LABEL_2, LABEL_1],
    [LABEL_2, LABEL_1],
  ]);
  await context.close();
});

test('reprint and void per package with a reason; a voided label is booked again and must be scanned again', async () => {
  const { page, context } = await packerPage();
  await twoPackages(page);
  await scan(page, LABEL_1);
  await page.locator('[data-testid=package-1][data-verified=true]').waitFor();

  // Package 2's reprint from its row (reached by keyboard focus), with a reason.
  await page.getByRole('button', { name: 'Reprint label of package 2' }).focus();
  await page.keyboard.press('Enter');
  await page.getByTestId('reprint-dialog').getByText('Reprint label of package 2').waitFor();
  await page.keyboard.type('torn while taping');
  await page.keyboard.press('Enter');
  await page.getByText(/print 2/).waitFor();
  assert.deepEqual((await callsOf(page, 'print_label')).at(-1).args, { orderId: 'ord-1', seq: 2, reprintReason: 'torn while taping' });

  // Package 1's void from its row: its label goes, its check too; it is the package to book again.
  await page.getByRole('button', { name: 'Void label of package 1' }).focus();
  await page.keyboard.press('Enter');
  await page.getByTestId('void-dialog').getByText('Void label of package 1').waitFor();
  await page.keyboard.press('Enter');
  await page.getByTestId('void-dialog').getByText('A reason is required.').waitFor();
  await page.keyboard.type('box crushed');
  await page.keyboard.press('Enter');
  await page.getByTestId('carrier-form').waitFor();
  assert.deepEqual((await callsOf(page, 'void_label')).map((c) => c.args), [{ orderId: 'ord-1', seq: 1, reason: 'box crushed' }]);
  assert.equal(await page.getByTestId('package-1-label').innerText(), 'Not booked');
  assert.equal(await page.getByTestId('package-1-tracking').innerText(), '—');
  assert.equal(await page.locator('[data-verified=true]').count(), 0);
  assert.equal(await page.getByTestId('package-2-label').innerText(), 'Printed');

  // The carrier last chosen (Sagawa) is offered; back to Yamato.
  assert.equal(await page.locator('#carrier').inputValue(), 'sagawa');
  await page.keyboard.press('ArrowUp');
  await page.keyboard.press('Enter');
  await page.getByTestId('print').waitFor();
  assert.match(await page.getByTestId('tracking').innerText(), new RegExp(LABEL_1));
  await page.keyboard.press('F2');
  await page.locator('[data-testid=package-1-label]', { hasText: 'Printed' }).waitFor();
  assert.deepEqual((await callsOf(page, 'print_label')).at(-1).args, { orderId: 'ord-1', seq: 1, reprintReason: null });
  await scan(page, LABEL_2);
  await page.locator('[data-testid=package-2][data-verified=true]').waitFor();
  await scan(page, LABEL_1);
  await page.getByText(/Dispatched 503-1234567-1234567/).waitFor();
  await context.close();
});

test('Esc leaves "another package" without closing the order; the box type is remembered for the next package and order', async () => {
  const { page, context } = await packerPage();
  await scan(page, 'PL0001');
  await page.getByTestId('order-id').waitFor();
  for (const code of ['4901234567894', '4901234567894', '4901234567900']) await scan(page, code);
  await page.getByTestId('package-form').waitFor();
  await page.keyboard.press('ArrowDown');
  await page.keyboard.press('ArrowDown'); // 100
  await page.keyboard.press('Tab');
  await page.keyboard.type('2000');
  await page.keyboard.press('Enter');
  await page.getByTestId('carrier-form').waitFor();
  // Not at the label step yet: F3 adds nothing.
  await page.keyboard.press('F3');
  assert.equal(await phase(page), 'carrier');
  await page.keyboard.press('Enter');
  await page.getByTestId('print').waitFor();
  await page.keyboard.press('F2');
  await page.getByTestId('scan-label').waitFor();

  await page.keyboard.press('F3');
  await page.locator('[data-testid=package-form][data-adding=true]').waitFor();
  assert.match(await page.getByTestId('prompt').innerText(), /Another package: choose the box/);
  assert.equal(await page.locator('#box').inputValue(), '100', 'the last box comes first');
  assert.equal(await page.getByRole('heading', { name: 'Another package (package 2)' }).count(), 1);
  // A weight of 0 is refused (the field's min): nothing sent, the form stays.
  await page.keyboard.press('Tab');
  await page.keyboard.type('0');
  await page.keyboard.press('Enter');
  await page.waitForTimeout(200);
  assert.equal((await callsOf(page, 'add_package')).length, 1);
  assert.equal(await phase(page), 'package');
  await page.keyboard.press('Escape');
  await page.getByTestId('scan-label').waitFor();
  assert.equal(await phase(page), 'dispatch');
  assert.equal(await page.getByTestId('order-id').count(), 1, 'the order stays open');
  assert.equal((await callsOf(page, 'add_package')).length, 1);

  await scan(page, LABEL_1);
  await page.getByText(/Dispatched 503-1234567-1234567/).waitFor();
  // The next order starts with the box this station used last.
  await scan(page, 'PL0002');
  await page.getByTestId('order-id').waitFor();
  await scan(page, '4901234567917');
  await scan(page, 'LOT-2026-11');
  await page.getByTestId('package-form').waitFor();
  assert.equal(await page.locator('#box').inputValue(), '100');
  // And after a restart of the screen (the station's storage).
  await page.reload();
  await page.getByTestId('prompt').waitFor();
  await scan(page, 'PL0001');
  await page.getByTestId('order-id').waitFor();
  for (const code of ['4901234567894', '4901234567894', '4901234567900']) await scan(page, code);
  await page.getByTestId('package-form').waitFor();
  assert.equal(await page.locator('#box').inputValue(), '100');
  await context.close();
});

test('offline, another package takes a pre-printed label: both recorded in the outbox, both scanned, the dispatch queued', async () => {
  const { page, context, problems } = await packerPage({ online: false });
  await scan(page, 'PL0001');
  await page.getByTestId('order-id').waitFor();
  for (const code of ['4901234567894', '4901234567894', '4901234567900']) await scan(page, code);
  await page.getByTestId('package-form').waitFor();
  // Two pre-printed Yamato labels (the last digit is the first eleven mod 7).
  const first = '123456789013';
  const second = '123456789024';
  await page.keyboard.press('Tab');
  await page.keyboard.type('700');
  await page.locator('#tracking-number').fill(first);
  await page.locator('#tracking-number').press('Enter');
  await page.getByTestId('preprinted-note').waitFor();

  await page.keyboard.press('F3');
  await page.locator('[data-testid=package-form][data-adding=true]').waitFor();
  assert.equal(await page.getByTestId('preprinted-toggle').isChecked(), true, 'offline, the pre-printed label is on');
  await page.keyboard.press('Tab');
  await page.keyboard.type('450');
  await page.keyboard.press('Tab'); // the toggle
  await page.keyboard.press('Tab'); // the carrier
  await page.keyboard.press('Tab');
  assert.equal(await focusedId(page), 'tracking-number');
  await page.keyboard.type(second);
  await page.keyboard.press('Enter');
  await page.locator('[data-testid=package-2-label]', { hasText: 'Pre-printed' }).waitFor();
  assert.equal(await page.getByTestId('recorded-offline').count(), 1);
  await page.getByTestId('outbox').getByText('Outbox: 5').waitFor();
  assert.deepEqual(
    (await callsOf(page, 'add_package')).map((c) => [c.args.weightG, c.args.trackingNumber]),
    [
      [700, first],
      [450, second],
    ],
  );
  // Booking cannot happen offline: nothing booked, nothing printed; no reprint or void of a pre-printed label.
  assert.equal((await callsOf(page, 'book_label')).length, 0);
  assert.equal(await page.getByRole('button', { name: /Void label of package/ }).count(), 0);
  await screenshot(page, 'packages-offline-preprinted');

  await scan(page, second);
  await page.locator('[data-testid=package-2][data-verified=true]').waitFor();
  assert.equal((await callsOf(page, 'dispatch')).length, 0);
  await scan(page, first);
  await page.getByText(/Dispatch of 503-1234567-1234567 queued \(offline\)/).waitFor();
  await page.getByTestId('outbox').getByText('Outbox: 6').waitFor();
  assert.deepEqual((await callsOf(page, 'dispatch')).map((c) => c.args.labelScans), [[second, first]]);
  assert.deepEqual(problems, []);
  await context.close();
});

test('the package list in Japanese, and axe in both languages with two packages, one scanned', async () => {
  const found = await axeInBothLocales(async (locale) => {
    const { page, context } = await packerPage({ locale });
    await twoPackages(page);
    await scan(page, LABEL_1);
    await page.locator('[data-testid=package-1][data-verified=true]').waitFor();
    if (locale === 'ja') {
      assert.equal(await page.getByRole('table', { name: 'この注文の荷物' }).count(), 1);
      assert.equal(await page.getByTestId('package-1-label').innerText(), '印刷済み');
      assert.match(await page.getByTestId('prompt').innerText(), /各荷物の送り状をスキャンして出荷（1\/2 照合済み）/);
      assert.equal(await page.getByRole('button', { name: '荷物 2 の送り状を取消' }).count(), 1);
      await screenshot(page, 'packages-ja');
    }
    return { page, context };
  });
  assert.deepEqual(found, []);
});
