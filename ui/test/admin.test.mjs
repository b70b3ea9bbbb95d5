import test from 'node:test';
import assert from 'node:assert/strict';
import { useBrowser, openApp, callsOf, screenshot } from './support.mjs';

const env = useBrowser(test);

async function admin(config = {}) {
  const r = await openApp(env.browser, env.base, { loggedIn: true, role: 'admin', locale: 'en', ...config });
  await r.page.getByTestId('nav-admin').click();
  return r;
}

test('MFA reset: step_up_required → TOTP prompt → step_up → retried', async () => {
  const { page, context } = await admin();
  await page.getByTestId('users').waitFor();
  await screenshot(page, 'admin-users');
  await page.getByRole('button', { name: 'Reset two-step for packer@example.jp' }).click();
  const dlg = page.getByTestId('stepup-dialog');
  await dlg.waitFor();
  await page.keyboard.type('999999');
  await page.keyboard.press('Enter');
  await dlg.getByText('The one-time code is wrong.').waitFor();
  await dlg.getByLabel('One-time code').fill('123456');
  await page.keyboard.press('Enter');
  await dlg.waitFor({ state: 'hidden' });
  await page.getByText('Two-step verification reset for packer@example.jp.').waitFor();
  assert.deepEqual((await callsOf(page, 'mfa_reset')).map((c) => c.args), [{ userId: 'u2' }, { userId: 'u2' }]);
  assert.deepEqual((await callsOf(page, 'step_up')).map((c) => c.args.totp), ['999999', '123456']);
  await context.close();
});

test('audit verification result', async () => {
  const { page, context } = await admin();
  await page.getByTestId('tab-audit').click();
  await page.getByTestId('audit-verify').click();
  assert.equal(await page.getByTestId('audit-result').innerText(), 'Audit chain intact: 4,821 entries checked.');
  await context.close();
});

test('printers: profile saved, test print', async () => {
  const { page, context } = await admin();
  await page.getByTestId('tab-printers').click();
  await page.getByTestId('printers').waitFor();
  await page.getByLabel('Label format').selectOption('zpl300');
  await page.getByLabel('Document printer').selectOption({ label: 'Office laser (cups://office)' });
  await page.getByTestId('save-profile').click();
  await page.getByText('Printer profile saved.').waitFor();
  assert.deepEqual((await callsOf(page, 'set_printer_profile'))[0].args, {
    profile: { labelPrinter: 'tcp://127.0.0.1:9100', labelFormat: 'zpl300', documentPrinter: 'cups://office' },
  });
  await page.getByTestId('test-print').click();
  await page.getByText('Test label sent to tcp://127.0.0.1:9100 (321 bytes).').waitFor();
  await screenshot(page, 'admin-printers');
  await context.close();
});

test('functions the back end lacks say "not available yet"', async () => {
  const { page, context } = await admin();
  for (const tab of ['devices', 'retention', 'dataRequests', 'releases']) {
    await page.getByTestId(`tab-${tab}`).click();
    assert.match(await page.getByTestId('not-available').innerText(), /^Not available yet/);
  }
  await context.close();
});
