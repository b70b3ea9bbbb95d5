import test from 'node:test';
import assert from 'node:assert/strict';
import { useBrowser, openApp, callsOf, screenshot, axeInBothLocales } from './support.mjs';

const env = useBrowser(test);

async function privacyTab(config = {}) {
  const r = await openApp(env.browser, env.base, { loggedIn: true, role: 'admin', locale: 'en', ...config });
  await r.page.getByTestId('nav-admin').click();
  await r.page.getByTestId('tab-privacy').click();
  await r.page.getByTestId('retention-current').waitFor();
  return r;
}

const rows = (page) => page.locator('[data-testid=dreq-list-viewport] [role=row]');

/** Types the one-time code into the step-up prompt and submits it. */
async function stepUp(page, code) {
  const su = page.getByTestId('stepup-dialog');
  await su.waitFor();
  await su.getByLabel('One-time code').fill(code);
  await page.keyboard.press('Enter');
}

async function record(page, { order, kind, reason }) {
  const form = page.getByTestId('dreq-form');
  await form.getByLabel('Order id').fill(order);
  await form.getByLabel('Request', { exact: true }).selectOption(kind);
  await form.getByLabel('Reason and verification').fill(reason);
}

test('privacy: retention in effect and the data requests, newest first in a virtual table', async () => {
  const { page, context, problems } = await privacyTab();
  assert.equal(
    await page.getByTestId('retention-current').innerText(),
    'In effect: closed orders are kept 90 days after their last change, audit events 90 days.',
  );
  assert.equal(await page.getByLabel('Closed orders kept (days)').inputValue(), '90');
  await page.getByTestId('dreq-count').getByText('60 requests').waitFor();
  assert.deepEqual((await callsOf(page, 'data_requests'))[0].args, { limit: 500 });
  const first = await rows(page).first().getByRole('cell').allInnerTexts();
  assert.deepEqual(first, ['Export', 'ord-1060', 'done', '28 Nov 2026, 11:00', '28 Dec 2026, 11:00', '28 Nov 2026, 11:00', 'order, lines, packages and recipient exported']);
  assert.equal(await page.getByTestId('dreq-list').getAttribute('aria-rowcount'), '61');
  const n = await rows(page).count();
  assert.ok(n > 5 && n < 40, `rows in the DOM: ${n}`);
  await page.getByTestId('dreq-list-viewport').press('End');
  await page.getByTestId('dreq-list-viewport').getByText('ord-1001').waitFor();
  await screenshot(page, 'admin-privacy');
  assert.deepEqual(problems, []);
  await context.close();
});

test('privacy: retention saved after a TOTP step-up (a wrong code is refused, then retried once)', async () => {
  const { page, context } = await privacyTab();
  await page.getByLabel('Closed orders kept (days)').fill('365');
  await page.getByLabel('Audit events kept (days)').fill('730');
  await page.getByTestId('retention-save').click();
  await stepUp(page, '999999');
  await page.getByTestId('stepup-dialog').getByText('The one-time code is wrong.').waitFor();
  await stepUp(page, '123456');
  await page.getByTestId('stepup-dialog').waitFor({ state: 'hidden' });
  await page.getByTestId('retention-notice').getByText('Retention saved.').waitFor();
  assert.equal(
    await page.getByTestId('retention-current').innerText(),
    'In effect: closed orders are kept 365 days after their last change, audit events 730 days.',
  );
  const want = { businessDays: 365, auditDays: 730 };
  assert.deepEqual((await callsOf(page, 'set_retention')).map((c) => c.args), [want, want]);
  assert.deepEqual((await callsOf(page, 'step_up')).map((c) => c.args.totp), ['999999', '123456']);
  await context.close();
});

test('privacy: out-of-range retention is refused before anything is sent; the server refusal is shown too', async () => {
  const { page, context } = await privacyTab();
  await page.getByLabel('Closed orders kept (days)').fill('20');
  await page.getByTestId('retention-save').click();
  await page.getByTestId('retention-error').getByText('Closed orders kept (days): enter whole days from 30 to 3,650.').waitFor();
  await page.getByLabel('Closed orders kept (days)').fill('90');
  await page.getByLabel('Audit events kept (days)').fill('4000');
  await page.getByTestId('retention-save').click();
  await page.getByTestId('retention-error').getByText('Audit events kept (days): enter whole days from 30 to 3,650.').waitFor();
  await page.getByLabel('Audit events kept (days)').fill('90.5');
  await page.getByTestId('retention-save').click();
  await page.getByTestId('retention-error').getByText(/^Audit events kept/).waitFor();
  assert.equal((await callsOf(page, 'set_retention')).length, 0);
  assert.equal(await page.getByTestId('stepup-dialog').isVisible(), false);
  // The server's own refusal (validation_failed) reads as the catalog message.
  await page.getByLabel('Audit events kept (days)').fill('100');
  await page.evaluate(() => window.__mock.failNext('set_retention', { code: 'validation_failed', message: 'audit_days must be between 30 and 3650 days, not 100' }));
  await page.getByTestId('retention-save').click();
  await page.getByTestId('retention-error').getByText('Input refused: audit_days must be between 30 and 3650 days, not 100').waitFor();
  await context.close();
});

test('privacy: a delete request names the order in its confirmation, then asks for the TOTP and erases', async () => {
  const { page, context } = await privacyTab();
  await page.getByTestId('dreq-count').getByText('60 requests').waitFor();
  await record(page, { order: 'ord-2', kind: 'delete', reason: 'verified by a call-back' });
  const form = page.getByTestId('dreq-form');
  assert.match(await form.innerText(), /erased at once\. This cannot be undone\./);
  await page.getByTestId('dreq-submit').click();
  await page.getByTestId('dreq-error').getByText('Confirm that the recipient of order ord-2 is erased.').waitFor();
  assert.equal((await callsOf(page, 'data_request_create')).length, 0);
  await form.getByLabel('I understand that the recipient of order ord-2 is erased now').check();
  await page.getByTestId('dreq-submit').click();
  await stepUp(page, '123456');
  await page.getByTestId('dreq-notice').getByText('Deletion recorded for order ord-2: recipient erased (name, address, phone, e-mail and labels)').waitFor();
  const want = { kind: 'delete', orderId: 'ord-2', reason: 'verified by a call-back', recipient: null };
  assert.deepEqual((await callsOf(page, 'data_request_create')).map((c) => c.args), [want, want]);
  assert.equal(await page.evaluate(() => window.__mock.recipients['ord-2']), null);
  await page.getByTestId('dreq-count').getByText('61 requests').waitFor();
  assert.deepEqual((await rows(page).first().getByRole('cell').allInnerTexts()).slice(0, 3), ['Deletion', 'ord-2', 'done']);
  assert.equal(await form.getByLabel('Order id').inputValue(), '', 'the form is cleared');
  await screenshot(page, 'admin-privacy-delete');
  await context.close();
});

test('privacy: an export is shown read-only, copied, and closed', async () => {
  const { page, context } = await privacyTab();
  await context.grantPermissions(['clipboard-read', 'clipboard-write']);
  await record(page, { order: 'ord-1', kind: 'export', reason: 'requester verified in person' });
  await page.getByTestId('dreq-submit').click();
  await stepUp(page, '123456');
  const panel = page.getByTestId('dreq-export');
  await panel.waitFor();
  const box = panel.getByLabel('Exported data of order ord-1');
  assert.equal(await box.getAttribute('readonly'), '');
  const data = JSON.parse(await box.inputValue());
  assert.equal(data.recipient.name, '山田 太郎');
  assert.equal(data.recipient.phone, '03-1234-5678');
  assert.match(await panel.innerText(), /Personal data: hand it only to the verified requester/);
  await screenshot(page, 'admin-privacy-export');
  await panel.getByTestId('dreq-copy').click();
  await panel.getByTestId('dreq-copy-note').getByText('Copied to the clipboard.').waitFor();
  assert.deepEqual(JSON.parse(await page.evaluate(() => navigator.clipboard.readText())), data);
  await panel.getByTestId('dreq-export-close').click();
  assert.equal(await page.getByTestId('dreq-export').count(), 0, 'the personal data leaves the screen');
  await context.close();
});

test('privacy: a correction sends the recipient; server refusals are catalog messages (pii_purged, not_found, invalid_postal_code)', async () => {
  const { page, context } = await privacyTab();
  await page.evaluate(() => window.__mock.state && (window.__mock.state.steppedUp = true));
  await record(page, { order: 'ord-9', kind: 'correct', reason: 'requester asked to fix the address' });
  const fields = page.getByTestId('dreq-recipient');
  await page.getByTestId('dreq-submit').click();
  await page.getByTestId('dreq-error').getByText('Name is required.').waitFor();
  await fields.getByLabel('Name').fill('鈴木 一郎');
  await fields.getByLabel('Postal code').fill('100-0001');
  await fields.getByLabel('Prefecture').fill('東京都');
  await fields.getByLabel('City').fill('千代田区');
  await fields.getByLabel('Address line 1').fill('千代田2-2');
  await page.getByTestId('dreq-submit').click();
  await page.getByTestId('dreq-error').getByText("This order's recipient was erased (by a deletion request or a withdrawn Amazon authorization): it cannot be corrected.").waitFor();
  assert.deepEqual((await callsOf(page, 'data_request_create'))[0].args.recipient, {
    name: '鈴木 一郎', postalCode: '100-0001', prefecture: '東京都', city: '千代田区', address1: '千代田2-2', address2: null, phone: null, email: null,
  });
  await page.getByTestId('dreq-form').getByLabel('Order id').fill('ord-404');
  await page.getByTestId('dreq-submit').click();
  await page.getByTestId('dreq-error').getByText('No order with this id in this tenant.').waitFor();
  await page.getByTestId('dreq-form').getByLabel('Order id').fill('ord-1');
  await fields.getByLabel('Postal code').fill('1000');
  await page.getByTestId('dreq-submit').click();
  await page.getByTestId('dreq-error').getByText('The postal code must be NNN-NNNN.').waitFor();
  await fields.getByLabel('Postal code').fill('100-0002');
  await page.getByTestId('dreq-submit').click();
  await page.getByTestId('dreq-notice').getByText('Correction recorded for order ord-1: recipient replaced and re-sealed').waitFor();
  assert.equal(await page.evaluate(() => window.__mock.recipients['ord-1'].postal_code), '100-0002');
  await context.close();
});

test('privacy: list errors are shown, an empty list says so, Japanese labels', async () => {
  let { page, context } = await privacyTab({ failNext: { data_requests: { code: 'offline', message: 'connection refused' } } });
  await page.getByTestId('dreq-list-error').getByText('The server cannot be reached. The action was not done.').waitFor();
  assert.equal(await page.getByTestId('dreq-empty').count(), 0, 'an error is not "empty"');
  await page.getByTestId('dreq-reload').click();
  await page.getByTestId('dreq-count').getByText('60 requests').waitFor();
  await context.close();

  ({ page, context } = await privacyTab({ dataRequests: 0, locale: 'ja' }));
  await page.getByTestId('dreq-empty').getByText('記録されたデータ請求はありません。').waitFor();
  assert.equal(await page.getByTestId('tab-privacy').innerText(), 'プライバシー');
  assert.match(await page.getByTestId('retention-current').innerText(), /最終更新から 90 日/);
  await context.close();
});

test('privacy by keyboard only: arrow to the tab, Tab through the form, Enter records, the code typed', async () => {
  const { page, context } = await openApp(env.browser, env.base, { loggedIn: true, role: 'admin', locale: 'en' });
  await page.getByTestId('nav-admin').click();
  await page.getByTestId('tab-users').focus();
  await page.keyboard.press('End');
  await page.keyboard.press('ArrowLeft');
  assert.equal(await page.evaluate(() => document.activeElement?.id), 'tab-privacy');
  await page.getByTestId('dreq-count').getByText('60 requests').waitFor();
  const focusId = () => page.evaluate(() => document.activeElement?.id ?? '');
  for (let i = 0; i < 15 && (await focusId()) !== 'dreq-order'; i++) await page.keyboard.press('Tab');
  assert.equal(await focusId(), 'dreq-order');
  const outline = await page.evaluate(() => getComputedStyle(document.activeElement).outlineStyle);
  assert.notEqual(outline, 'none', 'focus is visible');
  await page.keyboard.type('ord-1');
  await page.keyboard.press('Tab');
  assert.equal(await focusId(), 'dreq-kind');
  await page.keyboard.press('Tab');
  await page.keyboard.type('verified by e-mail reply');
  await page.keyboard.press('Enter');
  await page.getByTestId('stepup-dialog').waitFor();
  await page.keyboard.type('123456');
  await page.keyboard.press('Enter');
  await page.getByTestId('dreq-export').waitFor();
  assert.deepEqual((await callsOf(page, 'data_request_create')).at(-1).args, { kind: 'export', orderId: 'ord-1', reason: 'verified by e-mail reply', recipient: null });
  await context.close();
});

test('privacy: not for other roles; the commands are refused to them', async () => {
  const { page, context } = await openApp(env.browser, env.base, { loggedIn: true, role: 'supervisor', locale: 'en' });
  await page.getByTestId('nav-supervisor').waitFor();
  assert.equal(await page.getByTestId('nav-admin').count(), 0);
  const codes = await page.evaluate(() =>
    Promise.all([
      window.__TAURI_INTERNALS__.invoke('retention', {}).catch((e) => e.code),
      window.__TAURI_INTERNALS__.invoke('data_requests', { limit: null }).catch((e) => e.code),
    ]),
  );
  assert.deepEqual(codes, ['forbidden', 'forbidden']);
  await context.close();
});

test('axe: the privacy tab (retention, a correction form, an export, the list) in both languages', async () => {
  const found = await axeInBothLocales(async (locale) => {
    const r = await privacyTab({ locale });
    await r.page.evaluate(() => (window.__mock.state.steppedUp = true));
    await r.page.getByTestId('dreq-list').waitFor();
    await r.page.getByTestId('dreq-form').locator('#dreq-order').fill('ord-1');
    await r.page.getByTestId('dreq-form').locator('#dreq-reason').fill('x');
    await r.page.getByTestId('dreq-submit').click();
    await r.page.getByTestId('dreq-export').waitFor();
    await r.page.locator('#dreq-kind').selectOption('correct');
    await r.page.getByTestId('dreq-recipient').waitFor();
    return r;
  });
  assert.deepEqual(found, []);
});
