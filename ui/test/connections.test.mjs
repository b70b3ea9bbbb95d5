import test from 'node:test';
import assert from 'node:assert/strict';
import { useBrowser, openApp, callsOf, screenshot, axeInBothLocales } from './support.mjs';

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
  assert.deepEqual(yamato, ['Yamato Transport', '0312345678', "Carrier's system (API)", 'connected', '1 Oct 2026, 09:00']);
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
  assert.deepEqual(cells.slice(0, 4), ['Sagawa Express', 'ジリアン物流', 'Self-issued number range', '0 of 1,000 numbers used']);
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
  for (let i = 0; i < 20 && (await focusId()) !== 'cr-add'; i++) await page.keyboard.press('Tab');
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
