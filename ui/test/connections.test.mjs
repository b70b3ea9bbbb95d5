import test from 'node:test';
import assert from 'node:assert/strict';
import { useBrowser, openApp, callsOf, screenshot, axeInBothLocales, scan } from './support.mjs';
import { packerPage, untilCarrierStep } from './packer-support.mjs';

const env = useBrowser(test);

async function connectionsTab(config = {}) {
  const r = await openApp(env.browser, env.base, { loggedIn: true, role: 'admin', locale: 'en', ...config });
  await r.page.getByTestId('nav-admin').click();
  await r.page.getByTestId('tab-connections').click();
  await r.page.getByTestId('amazon-authorizations').waitFor();
  return r;
}

async function stepUp(page, code) {
  const su = page.getByTestId('stepup-dialog');
  await su.waitFor();
  await su.locator('input').fill(code);
  await page.keyboard.press('Enter');
}

async function fillSelfIssue(page, first, last) {
  await page.getByTestId('cr-add').click();
  const form = page.getByTestId('cr-form');
  await form.getByLabel('Carrier').selectOption('sagawa');
  await form.getByLabel('Mode').selectOption('self_issue');
  await form.getByLabel('First number of the range').fill(first);
  await form.getByLabel('Last number of the range').fill(last);
  await fillSender(form);
}

async function fillSender(form) {
  await form.getByLabel('Sender name (printed on labels)').fill('ジリアン物流');
  await form.getByLabel('Sender postal code').fill('135-0061');
  await form.getByLabel('Sender address (one line per row)').fill('東京都江東区豊洲3-3-3');
  await form.getByLabel('Sender phone').fill('03-1234-5678');
}

test('connections: Amazon authorizations and carrier accounts listed, dates in the locale', async () => {
  const { page, context, problems } = await connectionsTab();
  const row = page.getByTestId('auth-az-1');
  const cells = await row.getByRole('cell').allInnerTexts();
  assert.equal(cells[0], 'A3EXAMPLE0SELLER');
  assert.equal(cells[1], 'A1VC38T7YXB528');
  assert.equal(cells[2], 'active');
  assert.equal(cells[3], '28 Nov 2026, 18:00');
  assert.match(cells[4], /Recipient: granted\s+Buyer email: not granted/);
  assert.equal(cells[5], '2');
  assert.equal(await page.getByTestId('auth-az-2').getByTestId('auth-status').innerText(), 'revoked');
  assert.equal(await page.getByTestId('purge-az-2').count(), 1);
  assert.equal(await page.getByTestId('revoke-az-2').count(), 0);
  const yamato = await page.getByTestId('carrier-yamato').getByRole('cell').allInnerTexts();
  assert.deepEqual(yamato.slice(0, 6), ['Yamato Transport', '', '0312345678', "Carrier's system (API)", 'connected', '1 Oct 2026, 09:00']);
  assert.match(yamato[6], /^Edit\s+Disable\s+Remove$/);
  await screenshot(page, 'admin-connections');
  assert.deepEqual(problems, []);
  await context.close();
});

test('connections: a carrier account added after a step-up; the server refusals shown as catalog messages, nothing added', async () => {
  const { page, context } = await connectionsTab();
  // The carrier refuses a range whose last number is before its first.
  await fillSelfIssue(page, '2000', '1000');
  await page.getByTestId('cr-submit').click();
  await page.getByTestId('cr-form-error').getByText(/^The carrier refused this number range: range 2000–1000/).waitFor();
  assert.equal(await page.getByTestId('carrier-sagawa').count(), 0);
  assert.equal((await callsOf(page, 'step_up')).length, 0, 'the refusal came before a step-up was asked');
  // Yamato is connected already: conflict, after the step-up.
  const form = page.getByTestId('cr-form');
  await form.getByLabel('Carrier').selectOption('yamato');
  await form.getByLabel('First number of the range').fill('1000');
  await form.getByLabel('Last number of the range').fill('1999');
  await page.getByTestId('cr-submit').click();
  await stepUp(page, '123456');
  await page.getByTestId('cr-form-error').getByText('This carrier (or seller) is already connected.').waitFor();
  assert.equal(await page.getByTestId('carrier-accounts').locator('tbody tr').count(), 1);
  await form.getByLabel('Carrier').selectOption('sagawa');
  await page.getByTestId('cr-submit').click();
  await page.getByTestId('conn-notice').getByText('Sagawa Express connected.').waitFor();
  const cells = await page.getByTestId('carrier-sagawa').getByRole('cell').allInnerTexts();
  assert.deepEqual(cells.slice(0, 5), ['Sagawa Express', '', 'ジリアン物流', 'Self-issued number range', '0 of 1,000 numbers used']);
  const sent = (await callsOf(page, 'carrier_connect')).at(-1).args.input;
  assert.deepEqual(sent, {
    carrier: 'sagawa', mode: 'self_issue', baseUrl: null, customerCode: null, apiKey: null, rangeFirst: 1000, rangeLast: 1999,
    sender: { name: 'ジリアン物流', postalCode: '135-0061', addressLines: ['東京都江東区豊洲3-3-3'], phone: '03-1234-5678' },
  });
  await context.close();
});

test('connections: a seller connected after a step-up; the secrets are sent once and the fields emptied', async () => {
  const { page, context } = await connectionsTab();
  await page.getByTestId('az-add').click();
  const form = page.getByTestId('az-form');
  await form.getByLabel('Seller ID (merchant token)').fill('not a seller!');
  await form.getByLabel('LWA client ID').fill('amzn1.application-oa2-client.x');
  await form.getByLabel('LWA client secret').fill('client-secret');
  await form.getByLabel('Refresh token').fill('Atzr|token');
  assert.equal(await form.getByLabel('Refresh token').getAttribute('type'), 'password');
  await page.getByTestId('az-submit').click();
  await page.getByTestId('az-form-error').getByText('Input refused: selling_partner_id must be 1–32 letters and digits').waitFor();
  await form.getByLabel('Seller ID (merchant token)').fill('A9NEWSELLER');
  await page.getByTestId('az-pii-recipient').check();
  await page.getByTestId('az-submit').click();
  await stepUp(page, '123456');
  await page.getByTestId('conn-notice').getByText('A9NEWSELLER connected.').waitFor();
  assert.equal(await page.getByTestId('az-form').count(), 0);
  const sent = (await callsOf(page, 'amazon_connect')).map((c) => c.args.input);
  assert.equal(sent.length, 3);
  assert.deepEqual(sent.at(-1), {
    sellingPartnerId: 'A9NEWSELLER', marketplaces: [], lwaClientId: 'amzn1.application-oa2-client.x', lwaClientSecret: 'client-secret',
    refreshToken: 'Atzr|token', warehouse: null, piiRecipient: true, piiBuyerEmail: false,
  });
  // Opened again, the form is empty.
  await page.getByTestId('az-add').click();
  assert.equal(await page.getByTestId('az-form').getByLabel('Refresh token').inputValue(), '');
  await context.close();
});

test('connections: revoke asks for a reason, then a fresh one-time code before it is done; purge after it', async () => {
  const { page, context } = await connectionsTab();
  await page.getByTestId('revoke-az-1').click();
  const dlg = page.getByTestId('revoke-dialog');
  await dlg.locator('input').fill('contract ended');
  await page.keyboard.press('Enter');
  await page.getByTestId('stepup-dialog').waitFor();
  // Not revoked until the code is given.
  assert.equal(await page.getByTestId('auth-az-1').getByTestId('auth-status').innerText(), 'active');
  await stepUp(page, '123456');
  await page.getByTestId('conn-notice').getByText('A3EXAMPLE0SELLER revoked.').waitFor();
  assert.equal(await page.getByTestId('auth-az-1').getByTestId('auth-status').innerText(), 'revoked');
  assert.deepEqual((await callsOf(page, 'amazon_revoke')).map((c) => c.args), [
    { id: 'az-1', reason: 'contract ended' },
    { id: 'az-1', reason: 'contract ended' },
  ]);
  // Purge: the confirmation is required.
  await page.getByTestId('purge-az-1').click();
  await page.getByTestId('purge-submit').click();
  await page.getByTestId('purge-dialog').getByText('Tick the box to confirm.').waitFor();
  await page.getByTestId('purge-confirm').check();
  await page.getByTestId('purge-submit').click();
  await page.getByTestId('conn-notice').getByText('A3EXAMPLE0SELLER: recipients erased from 3 orders.').waitFor();
  await page.getByTestId('auth-az-1').getByTestId('auth-purged').waitFor();
  assert.equal(await page.getByTestId('purge-az-1').count(), 0);
  await context.close();
});

test('connections: sync now, and its refusal shown as its catalog message', async () => {
  const { page, context } = await connectionsTab();
  await page.evaluate(() => window.__mock.failNext('amazon_sync', { code: 'amazon_sync_failed', message: 'QuotaExceeded' }));
  await page.getByTestId('sync-az-1').click();
  await page.getByTestId('conn-error').getByText('Amazon did not answer the sync: QuotaExceeded').waitFor();
  await page.getByTestId('sync-az-1').click();
  await page.getByTestId('conn-notice').getByText('A3EXAMPLE0SELLER: 5 orders read, 2 new.').waitFor();
  assert.equal((await callsOf(page, 'step_up')).length, 0);
  await context.close();
});

test('connections in Japanese, by keyboard only', async () => {
  const { page, context } = await connectionsTab({ locale: 'ja' });
  assert.equal(await page.getByTestId('tab-connections').innerText(), '外部連携');
  assert.equal(await page.getByTestId('auth-az-1').getByTestId('auth-status').innerText(), '有効');
  assert.match(await page.getByTestId('auth-az-1').getByRole('cell').nth(3).innerText(), /^2026\/11\/28 18:00$/);
  const focusId = () => page.evaluate(() => document.activeElement?.getAttribute('data-testid') ?? '');
  await page.getByTestId('tab-connections').focus();
  for (let i = 0; i < 40 && (await focusId()) !== 'cr-add'; i++) await page.keyboard.press('Tab');
  assert.equal(await focusId(), 'cr-add');
  await page.keyboard.press('Enter');
  await page.getByTestId('cr-form').waitFor();
  await page.keyboard.press('Tab');
  assert.equal(await focusId(), 'cr-carrier');
  await screenshot(page, 'admin-connections-ja');
  await context.close();
});

test('axe: the connections tab with both forms open, in both languages', async () => {
  const found = await axeInBothLocales(async (locale) => {
    const r = await connectionsTab({ locale });
    await r.page.getByTestId('az-add').click();
    await r.page.getByTestId('cr-add').click();
    await r.page.getByTestId('cr-form').waitFor();
    return r;
  });
  assert.deepEqual(found, []);
});

test('connections: a carrier account edited (a name, a new API key) after a step-up; checked first, the key sent once and never shown', async () => {
  const { page, context } = await connectionsTab();
  await page.getByTestId('cr-edit-yamato').click();
  const dlg = page.getByTestId('cr-edit-dialog');
  assert.equal(await dlg.getByRole('heading').innerText(), 'Edit the Yamato Transport account');
  assert.equal(await dlg.getByLabel('Customer code').inputValue(), '0312345678');
  assert.equal(await dlg.getByLabel('Sender address (one line per row)').inputValue(), '東京都江東区豊洲3-3-3');
  assert.equal(await dlg.getByLabel('New API key').getAttribute('type'), 'password');
  assert.equal(await dlg.getByLabel('New API key').inputValue(), '');
  // Checked here first: nothing is sent.
  await dlg.getByLabel('Sender name (printed on labels)').fill(' ');
  await page.getByTestId('ce-submit').click();
  await page.getByTestId('ce-error').getByText('Sender name (printed on labels) is required.').waitFor();
  assert.equal((await callsOf(page, 'carrier_update')).length, 0);
  // The server's refusal, before any step-up: the dialog stays, nothing changed.
  await dlg.getByLabel('Sender name (printed on labels)').fill('ジリアン物流 東京第二倉庫');
  await dlg.getByLabel('API address (https)').fill('http://yamato.example');
  await page.getByTestId('ce-submit').click();
  await page.getByTestId('ce-error').getByText('Input refused: base_url must be https').waitFor();
  assert.equal((await callsOf(page, 'step_up')).length, 0);
  await dlg.getByLabel('API address (https)').fill('https://yamato.sandbox.example');
  await dlg.getByLabel('Name of the account (optional)').fill(' 本社契約 ');
  await dlg.getByLabel('New API key').fill('rotated-key');
  await page.getByTestId('ce-submit').click();
  await stepUp(page, '123456');
  await page.getByTestId('conn-notice').getByText('Yamato Transport account saved.').waitFor();
  assert.equal(await page.getByTestId('cr-edit-dialog').isVisible(), false);
  assert.equal(await page.getByTestId('carrier-yamato').getByTestId('carrier-label').innerText(), '本社契約');
  assert.deepEqual((await callsOf(page, 'carrier_update')).at(-1).args, {
    carrier: 'yamato',
    input: {
      label: '本社契約', baseUrl: 'https://yamato.sandbox.example', customerCode: '0312345678', apiKey: 'rotated-key',
      sender: { name: 'ジリアン物流 東京第二倉庫', postalCode: '135-0061', addressLines: ['東京都江東区豊洲3-3-3'], phone: '03-1234-5678' },
    },
  });
  assert.doesNotMatch(await page.locator('body').innerText(), /rotated-key/);
  // Opened again: the name is there, the key field empty; a self-issue account has no API fields.
  await page.getByTestId('cr-edit-yamato').click();
  assert.equal(await dlg.getByLabel('Name of the account (optional)').inputValue(), '本社契約');
  assert.equal(await dlg.getByLabel('New API key').inputValue(), '');
  await dlg.getByRole('button', { name: 'Cancel' }).click();
  await fillSelfIssue(page, '1000', '1999');
  await page.getByTestId('cr-submit').click();
  await page.getByTestId('conn-notice').getByText('Sagawa Express connected.').waitFor();
  await page.getByTestId('cr-edit-sagawa').click();
  assert.equal(await dlg.getByLabel('New API key').count(), 0);
  assert.equal(await dlg.getByLabel('Customer code').count(), 0);
  await context.close();
});

test('connections: disable and enable after a step-up; removal refused for an account with labels, done for an unused one', async () => {
  const { page, context } = await connectionsTab();
  await page.getByTestId('cr-disable-yamato').click();
  await stepUp(page, '123456');
  await page.getByTestId('conn-notice').getByText('Yamato Transport disabled: no new labels are booked with it.').waitFor();
  const row = page.getByTestId('carrier-yamato');
  assert.equal(await row.getByTestId('carrier-disabled').innerText(), 'disabled');
  assert.match(await row.getByRole('cell').nth(4).innerText(), /since 28 Nov 2026, 19:00/);
  assert.deepEqual((await callsOf(page, 'carrier_update')).map((c) => c.args), [
    { carrier: 'yamato', input: { enabled: false } },
    { carrier: 'yamato', input: { enabled: false } },
  ]);
  await page.getByTestId('cr-enable-yamato').click();
  await page.getByTestId('conn-notice').getByText('Yamato Transport enabled again.').waitFor();
  assert.equal(await row.getByTestId('carrier-disabled').count(), 0);
  // Remove: a confirmation first; cancelled, nothing is sent.
  await page.getByTestId('cr-remove-yamato').click();
  await page.getByTestId('cr-remove-dialog').getByText(/Only an account no label was ever booked with can be removed/).waitFor();
  await page.getByTestId('cr-remove-dialog').getByRole('button', { name: 'Cancel' }).click();
  assert.equal((await callsOf(page, 'carrier_remove')).length, 0);
  // Labels were booked with Yamato: refused, still listed.
  await page.getByTestId('cr-remove-yamato').click();
  await page.getByTestId('cr-remove-submit').click();
  await page.getByTestId('conn-error').getByText('Labels were booked with this account, so it stays as their record: disable it instead.').waitFor();
  assert.equal(await page.getByTestId('carrier-yamato').count(), 1);
  // A new, unused account is removed.
  await fillSelfIssue(page, '1000', '1999');
  await page.getByTestId('cr-submit').click();
  await page.getByTestId('conn-notice').getByText('Sagawa Express connected.').waitFor();
  await page.getByTestId('cr-remove-sagawa').click();
  await page.getByTestId('cr-remove-submit').click();
  await page.getByTestId('conn-notice').getByText('Sagawa Express account removed.').waitFor();
  assert.equal(await page.getByTestId('carrier-sagawa').count(), 0);
  assert.deepEqual((await callsOf(page, 'carrier_remove')).map((c) => c.args.carrier), ['yamato', 'sagawa']);
  await context.close();
});

test('connections: shipment confirmations by state; a failed one sent again or marked handled, a refusal said', async () => {
  const { page, context } = await connectionsTab();
  const list = page.getByTestId('feedback');
  await list.waitFor();
  assert.equal(await list.locator('tbody tr').count(), 4);
  const first = await page.getByTestId('fb-ord-9-1').getByRole('cell').allInnerTexts();
  assert.deepEqual(first.slice(0, 7), ['503-0000000-0000009', '1', '123456789012', 'failed', 'InvalidCarrier', '5', '28 Nov 2026, 18:30']);
  // Only failed confirmations have actions.
  assert.equal(await page.getByTestId('fb-ord-7-1').getByRole('button').count(), 0);
  await page.getByTestId('fb-filter').selectOption('failed');
  await page.getByTestId('fb-ord-7-1').waitFor({ state: 'detached' });
  assert.equal(await list.locator('tbody tr').count(), 2);
  assert.equal((await callsOf(page, 'amazon_feedback')).at(-1).args.status, 'failed');
  await page.getByTestId('fb-retry-ord-9-1').click();
  await page.getByTestId('conn-notice').getByText('503-0000000-0000009: the confirmation will be sent again.').waitFor();
  await page.getByTestId('fb-ord-9-1').waitFor({ state: 'detached' });
  assert.deepEqual((await callsOf(page, 'feedback_retry')).map((c) => c.args), [{ orderId: 'ord-9', seq: 1 }]);
  // Refused (it changed meanwhile): said, still listed; then done.
  await page.evaluate(() => window.__mock.failNext('feedback_handled', { code: 'feedback_illegal_transition', message: 'handled → handled' }));
  await page.getByTestId('fb-handled-ord-8-2').click();
  await page.getByTestId('conn-error').getByText('This confirmation is no longer failed: reload the list.').waitFor();
  await page.getByTestId('fb-handled-ord-8-2').click();
  await page.getByTestId('conn-notice').getByText('503-0000000-0000008: marked handled.').waitFor();
  await page.getByTestId('fb-empty').getByText('No shipment confirmation in this state.').waitFor();
  await page.getByTestId('fb-filter').selectOption('handled');
  await page.getByTestId('fb-ord-8-2').getByTestId('fb-status').getByText('handled').waitFor();
  assert.equal(await page.getByTestId('fb-ord-8-2').getByRole('button').count(), 0);
  assert.equal((await callsOf(page, 'step_up')).length, 0, 'no step-up for the queue');
  await context.close();
});

test('connections in Japanese: confirmations, the account actions and the edit dialog', async () => {
  const { page, context } = await connectionsTab({ locale: 'ja' });
  assert.equal(await page.getByTestId('fb-ord-9-1').getByTestId('fb-status').innerText(), '失敗');
  assert.equal(await page.getByTestId('fb-retry-ord-9-1').innerText(), '再送');
  assert.equal(await page.getByTestId('fb-retry-ord-9-1').getAttribute('aria-label'), '再送: 503-0000000-0000009 荷物 1');
  assert.equal(await page.getByTestId('cr-disable-yamato').innerText(), '無効にする');
  await page.getByTestId('cr-remove-yamato').click();
  await page.getByTestId('cr-remove-submit').click();
  await stepUp(page, '123456');
  await page.getByTestId('conn-error').getByText('このアカウントで発行したラベルがあるため、記録として残します。無効にしてください。').waitFor();
  await page.getByTestId('cr-edit-yamato').click();
  assert.equal(await page.getByTestId('cr-edit-dialog').getByRole('heading').innerText(), 'ヤマト運輸 のアカウントを編集');
  await page.getByTestId('cr-edit-dialog').getByLabel('新しい API キー').waitFor();
  await context.close();
});

test('axe: the confirmations list and the carrier edit and remove dialogs, in both languages', async () => {
  for (const open of ['cr-edit-yamato', 'cr-remove-yamato']) {
    const found = await axeInBothLocales(async (locale) => {
      const r = await connectionsTab({ locale });
      await r.page.getByTestId('feedback').waitFor();
      await r.page.getByTestId(open).click();
      await r.page.getByTestId(open === 'cr-edit-yamato' ? 'cr-edit-dialog' : 'cr-remove-dialog').waitFor();
      return r;
    });
    assert.deepEqual(found, [], open);
  }
});

test('connections: an API account added (address, customer code, key); the key field emptied once sent', async () => {
  const { page, context } = await connectionsTab();
  await page.getByTestId('cr-add').click();
  const form = page.getByTestId('cr-form');
  await form.getByLabel('Carrier').selectOption('sagawa');
  await form.getByLabel('Mode').selectOption('api');
  await fillSender(form);
  await form.getByLabel('API address (https)').fill('https://sagawa.example');
  await form.getByLabel('Customer code').fill('1234567890');
  await page.getByTestId('cr-submit').click();
  await page.getByTestId('cr-form-error').getByText('API key is required.').waitFor();
  await form.getByLabel('API key').fill('sagawa-key');
  await page.getByTestId('cr-submit').click();
  await stepUp(page, '123456');
  await page.getByTestId('conn-notice').getByText('Sagawa Express connected.').waitFor();
  const sent = (await callsOf(page, 'carrier_connect')).at(-1).args.input;
  assert.deepEqual([sent.mode, sent.baseUrl, sent.customerCode, sent.apiKey], ['api', 'https://sagawa.example', '1234567890', 'sagawa-key']);
  await page.getByTestId('cr-add').click();
  await form.getByLabel('Mode').selectOption('api');
  assert.equal(await form.getByLabel('API key').inputValue(), '');
  assert.equal(await form.getByLabel('Customer code').inputValue(), '');
  await context.close();
});

test('a disabled carrier account: the booking refusal at the bench is its catalog message, in both languages', async () => {
  for (const [locale, text] of [
    ['en', 'This carrier account is disabled: an administrator enables it again under Admin → Connections.'],
    ['ja', 'この運送会社アカウントは無効です。管理者が「システム管理 → 外部連携」で有効にします。'],
  ]) {
    const { page, context } = await packerPage(env, { locale });
    await scan(page, 'PL0001');
    await page.getByTestId('order-id').waitFor();
    await untilCarrierStep(page);
    await page.evaluate(() => window.__mock.failNext('book_label', { code: 'carrier_disabled', message: 'the yamato account is disabled' }));
    await page.keyboard.press('Enter');
    await page.getByRole('alert').getByText(text).waitFor();
    assert.equal(await page.getByTestId('prompt').getAttribute('data-phase'), 'carrier');
    await context.close();
  }
});
