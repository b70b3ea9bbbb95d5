// The packing slip (納品書) at the bench: print_packing_slip from the packer screen, its shortcut
// and its refusals shown as their catalog messages.
import test from 'node:test';
import assert from 'node:assert/strict';
import { useBrowser, scan, callsOf, screenshot } from './support.mjs';
import { packerPage as openPacker, untilCarrierStep } from './packer-support.mjs';

const env = useBrowser(test);

const packerPage = (config = {}) => openPacker(env, config);

async function openOrder(page) {
  await scan(page, 'PL0001');
  await page.getByTestId('order-id').waitFor();
}

test('the packing slip prints from an open order (F6) and again after the label, by its button', async () => {
  const { page, context, problems } = await packerPage({ documentPrinter: 'cups://office' });
  // No order open: no slip button, and F6 asks for nothing.
  assert.equal(await page.getByTestId('print-slip').count(), 0);
  await page.keyboard.press('F6');
  await openOrder(page);
  assert.match(await page.getByTestId('print-slip').innerText(), /Print packing slip \(F6\)/);
  assert.match(await page.getByLabel('Keyboard shortcuts').innerText(), /F6 packing slip/);

  await page.keyboard.press('F6');
  await page.getByTestId('scan-ok').getByText('Packing slip sent to cups://office.').waitFor();
  assert.deepEqual((await callsOf(page, 'print_packing_slip')).map((c) => c.args), [{ orderId: 'ord-1', printer: null }]);
  // Printing the slip leaves the packing steps where they were.
  assert.equal(await page.getByTestId('prompt').getAttribute('data-phase'), 'items');

  // Pack, package, book and print the label; the slip is still there, by its button.
  await untilCarrierStep(page);
  await page.keyboard.press('Enter');
  await page.getByTestId('label-step').waitFor();
  await page.keyboard.press('F2');
  await page.getByTestId('scan-label').waitFor();

  await page.getByTestId('print-slip').focus();
  await page.keyboard.press('Enter');
  await page.getByTestId('scan-ok').getByText('Packing slip sent to cups://office.').waitFor();
  await page.waitForFunction(() => document.activeElement?.getAttribute('data-testid') === 'prompt');
  assert.equal((await callsOf(page, 'print_packing_slip')).length, 2);
  assert.equal(await page.getByTestId('prompt').getAttribute('data-phase'), 'dispatch');
  await screenshot(page, 'packer-slip');
  assert.deepEqual(problems, []);
  await context.close();
});

test('no document printer: printer_not_configured is shown as its message', async () => {
  const { page, context } = await packerPage();
  await openOrder(page);
  await page.getByTestId('print-slip').click();
  const alert = page.getByRole('alert');
  await alert.waitFor();
  assert.equal(await alert.innerText(), 'No document printer (A4) is set up for this station: an administrator chooses one under Printers. Nothing was printed.');
  assert.equal((await callsOf(page, 'print_packing_slip')).length, 1);
  await context.close();
});

test('a missing print queue: queue_missing is shown as its message, in either language', async () => {
  const { page, context } = await packerPage({ documentPrinter: 'cups://gone' });
  await openOrder(page);
  await page.keyboard.press('F6');
  const alert = page.getByRole('alert');
  await alert.waitFor();
  assert.equal(await alert.innerText(), 'This print queue does not exist on this computer: choose another printer, or ask an administrator. Nothing was printed.');
  await page.getByLabel('Language').selectOption('ja');
  await page.getByTestId('print-slip').getByText('納品書を印刷 (F6)').waitFor();
  await page.keyboard.press('F6');
  await page.getByRole('alert').getByText('この印刷キューはこのパソコンにありません。別のプリンターを選ぶか、管理者に連絡してください。印刷されていません。').waitFor();
  await context.close();
});

test('offline, the slip is refused with its own message and the order stays open', async () => {
  const { page, context } = await packerPage({ documentPrinter: 'cups://office', online: false });
  await openOrder(page);
  await page.keyboard.press('F6');
  await page.getByRole('alert').getByText(/Offline, the packing slip cannot be printed/).waitFor();
  assert.match(await page.getByTestId('order-id').innerText(), /503-1234567-1234567/);
  await context.close();
});
