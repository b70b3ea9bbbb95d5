import test from 'node:test';
import assert from 'node:assert/strict';
import { useBrowser, openApp, callsOf, screenshot, axe } from './support.mjs';

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

const BENCH1 = 'station-3f2a9c1e-0b7d-4c55-9e21-6a0d8f4b7c10';
const BENCH2 = 'station-7b1e4d2a-9c3f-4e8b-a5d6-0f2c1b3a4e5d';

async function devices(config = {}) {
  const r = await admin(config);
  await r.page.getByTestId('tab-devices').click();
  await r.page.getByTestId('devices').waitFor();
  return r;
}

test('devices: list with names or ids, Tokyo times, sessions, state and this-station marker', async () => {
  const { page, context } = await devices();
  const rows = page.getByTestId('devices').locator('tbody tr');
  assert.equal(await rows.count(), 3);
  const bench1 = page.getByTestId(`device-${BENCH1}`);
  const cells = await bench1.locator('td').allInnerTexts();
  assert.match(cells[0], /PACK-BENCH-1/);
  assert.match(cells[0], /this station/);
  assert.equal(cells[1], '1 Oct 2026, 09:30'); // 00:30Z is 09:30 in Tokyo
  assert.equal(cells[2], '28 Nov 2026, 18:45');
  assert.equal(cells[3], '1');
  assert.equal(cells[4], 'active');
  assert.equal(cells[5], 'tcp://127.0.0.1:9100 · ZPL 203 dpi');
  assert.equal(await page.getByTestId('this-station').count(), 1);
  const bench2 = page.getByTestId(`device-${BENCH2}`);
  assert.equal(await bench2.getByTestId('state').innerText(), 'active');
  assert.match(await bench2.locator('td').nth(5).innerText(), /not set/);
  // No name: the id stands in; revoked and wiped shows as wiped, with no Revoke button.
  const lost = page.getByTestId('device-station-lost-laptop');
  assert.match(await lost.locator('td').first().innerText(), /station-lost-laptop/);
  assert.equal(await lost.getByTestId('state').innerText(), 'wiped');
  assert.equal(await lost.getByRole('button', { name: /^Revoke/ }).count(), 0);
  await screenshot(page, 'admin-devices');
  await context.close();
});

test('devices: revoke asks for a reason', async () => {
  const { page, context } = await devices();
  await page.getByRole('button', { name: 'Revoke PACK-BENCH-2' }).click();
  const dlg = page.getByTestId('revoke-dialog');
  await dlg.waitFor();
  await page.keyboard.press('Enter');
  await dlg.getByText('A reason is required.').waitFor();
  await dlg.getByLabel('Reason').fill('stolen from bench 2');
  await page.keyboard.press('Enter');
  await dlg.waitFor({ state: 'hidden' });
  await page.getByText('PACK-BENCH-2 was revoked.').waitFor();
  assert.deepEqual((await callsOf(page, 'device_revoke')).map((c) => c.args), [{ deviceId: BENCH2, reason: 'stolen from bench 2' }]);
  const row = page.getByTestId(`device-${BENCH2}`);
  assert.equal(await row.getByTestId('state').innerText(), 'revoked');
  assert.equal(await row.getByRole('button', { name: /^Revoke/ }).count(), 0);
  await context.close();
});

test('devices: already_revoked is a catalog message in the dialog', async () => {
  const { page, context } = await devices({ failNext: { device_revoke: { code: 'already_revoked', message: 'this device is already revoked' } } });
  await page.getByRole('button', { name: 'Revoke PACK-BENCH-2' }).click();
  const dlg = page.getByTestId('revoke-dialog');
  await dlg.getByLabel('Reason').fill('x');
  await page.keyboard.press('Enter');
  await dlg.getByText('This device is already revoked.').waitFor();
  await context.close();
});

test('devices: remote wipe asks for a reason and a confirmation, then a TOTP step-up, and is retried once', async () => {
  const { page, context } = await devices();
  await page.getByRole('button', { name: 'Remote wipe of PACK-BENCH-2' }).click();
  const dlg = page.getByTestId('wipe-dialog');
  await dlg.waitFor();
  assert.match(await dlg.innerText(), /unsent dispatches and scans\) are erased/);
  await dlg.getByLabel('Reason').fill('bench 2 lost');
  await dlg.getByTestId('wipe-submit').click();
  await dlg.getByText('Confirm that the unsent actions and cache are erased.').waitFor();
  assert.equal((await callsOf(page, 'device_wipe')).length, 0);
  await dlg.getByLabel("I understand that this station's unsent actions and cache are erased").check();
  await dlg.getByTestId('wipe-submit').click();
  const su = page.getByTestId('stepup-dialog');
  await su.waitFor();
  await su.getByLabel('One-time code').fill('000000');
  await page.keyboard.press('Enter');
  await su.getByText('The one-time code is wrong.').waitFor();
  await su.getByLabel('One-time code').fill('123456');
  await page.keyboard.press('Enter');
  await su.waitFor({ state: 'hidden' });
  await page.getByText('Wipe requested for PACK-BENCH-2: the station erases its data at its next contact.').waitFor();
  const want = { deviceId: BENCH2, reason: 'bench 2 lost' };
  assert.deepEqual((await callsOf(page, 'device_wipe')).map((c) => c.args), [want, want]);
  assert.deepEqual((await callsOf(page, 'step_up')).map((c) => c.args.totp), ['000000', '123456']);
  assert.equal(await page.getByTestId(`device-${BENCH2}`).getByTestId('state').innerText(), 'wipe pending');
  await context.close();
});

test('devices: a second step_up_required after the step-up is shown, not asked again', async () => {
  const { page, context } = await devices();
  await page.getByRole('button', { name: 'Remote wipe of PACK-BENCH-2' }).click();
  const dlg = page.getByTestId('wipe-dialog');
  await dlg.getByLabel('Reason').fill('r');
  await dlg.getByTestId('wipe-confirm').check();
  await dlg.getByTestId('wipe-submit').click();
  await page.getByTestId('stepup-dialog').getByLabel('One-time code').fill('123456');
  await page.evaluate(() => window.__mock.failNext('device_wipe', { code: 'step_up_required', message: 'step-up required' }));
  await page.keyboard.press('Enter');
  await page.getByTestId('devices-error').getByText('This action needs a fresh one-time code.').waitFor();
  assert.equal(await page.getByTestId('stepup-dialog').isVisible(), false);
  assert.equal((await callsOf(page, 'device_wipe')).length, 2);
  await context.close();
});

test('devices: update channel per device, checked before sending, saved after a TOTP step-up; blank is the default', async () => {
  const { page, context, problems } = await devices();
  const bench2 = page.getByTestId(`device-${BENCH2}`);
  assert.equal(await bench2.getByTestId('channel').innerText(), 'stable (default)');
  await page.getByRole('button', { name: 'Update channel of PACK-BENCH-2' }).click();
  const dlg = page.getByTestId('channel-dialog');
  await dlg.waitFor();
  assert.deepEqual(await axe(page), []);
  await dlg.getByLabel('Release channel').fill('Beta Ring');
  await dlg.getByTestId('channel-save').click();
  await dlg.getByText('A channel name is 1–32 lowercase letters, digits and hyphens.').waitFor();
  assert.equal((await callsOf(page, 'set_device_update_channel')).length, 0, 'nothing sent');

  await dlg.getByLabel('Release channel').fill(' beta ');
  await dlg.getByTestId('channel-save').click();
  const su = page.getByTestId('stepup-dialog');
  await su.waitFor();
  assert.equal(await dlg.isVisible(), false, 'the prompt takes the dialog\'s place');
  await su.getByLabel('One-time code').fill('123456');
  await page.keyboard.press('Enter');
  await page.getByTestId('devices-notice').getByText('PACK-BENCH-2 now takes its updates from beta.').waitFor();
  assert.equal(await bench2.getByTestId('channel').innerText(), 'beta');
  const want = { deviceId: BENCH2, channel: 'beta' };
  assert.deepEqual((await callsOf(page, 'set_device_update_channel')).map((c) => c.args), [want, want]);

  // Blank: back on the server's default (null is sent).
  await page.getByRole('button', { name: 'Update channel of PACK-BENCH-2' }).click();
  assert.equal(await dlg.getByLabel('Release channel').inputValue(), 'beta');
  await dlg.getByLabel('Release channel').fill('');
  await dlg.getByTestId('channel-save').click();
  await page.getByTestId('devices-notice').getByText('PACK-BENCH-2 now takes its updates from stable (default).').waitFor();
  assert.deepEqual((await callsOf(page, 'set_device_update_channel')).at(-1).args, { deviceId: BENCH2, channel: null });
  assert.equal(await bench2.getByTestId('channel').innerText(), 'stable (default)');

  // A refusal stays in the dialog, and nothing changes.
  await page.evaluate(() => window.__mock.failNext('set_device_update_channel', { code: 'forbidden', message: 'admin only' }));
  await page.getByRole('button', { name: 'Update channel of PACK-BENCH-2' }).click();
  await dlg.getByLabel('Release channel').fill('pilot');
  await dlg.getByTestId('channel-save').click();
  await dlg.getByRole('alert').waitFor();
  assert.equal(await bench2.getByTestId('channel').innerText(), 'stable (default)');
  assert.deepEqual(problems, []);
  await context.close();
});

test('axe: the update channel dialog in Japanese', async () => {
  const { page, context } = await devices({ locale: 'ja' });
  await page.getByRole('button', { name: 'PACK-BENCH-2 の更新チャネル' }).click();
  await page.getByTestId('channel-dialog').waitFor();
  assert.deepEqual(await axe(page), []);
  await context.close();
});

test('devices: printer profile per device, targets checked before sending', async () => {
  const { page, context } = await devices();
  await page.getByRole('button', { name: 'Printer profile of PACK-BENCH-2' }).click();
  const dlg = page.getByTestId('profile-dialog');
  await dlg.waitFor();
  await dlg.getByLabel('Label printer').fill('10.0.0.22:9100');
  await dlg.getByLabel('Label format').selectOption('zpl300');
  await dlg.getByLabel('Document printer').fill('cups://office-a4');
  await dlg.getByTestId('profile-save').click();
  await dlg.getByText('Label printer: enter tcp://HOST:PORT or cups://QUEUE.').waitFor();
  assert.equal((await callsOf(page, 'set_device_printer_profile')).length, 0);
  await dlg.getByLabel('Label printer').fill('tcp://10.0.0.22:9100');
  await dlg.getByTestId('profile-save').click();
  await dlg.waitFor({ state: 'hidden' });
  await page.getByText('Printer profile saved for PACK-BENCH-2.').waitFor();
  assert.deepEqual((await callsOf(page, 'set_device_printer_profile')).map((c) => c.args), [
    { deviceId: BENCH2, profile: { labelPrinter: 'tcp://10.0.0.22:9100', labelFormat: 'zpl300', documentPrinter: 'cups://office-a4' } },
  ]);
  assert.equal(await page.getByTestId(`device-${BENCH2}`).locator('td').nth(5).innerText(), 'tcp://10.0.0.22:9100 · ZPL 300 dpi · cups://office-a4');
  // Clearing a printer sends null; a server refusal is shown as the catalog message.
  await page.getByRole('button', { name: 'Printer profile of PACK-BENCH-2' }).click();
  assert.equal(await dlg.getByLabel('Label printer').inputValue(), 'tcp://10.0.0.22:9100');
  await dlg.getByLabel('Document printer').fill('');
  await page.evaluate(() => window.__mock.failNext('set_device_printer_profile', { code: 'validation_failed', message: 'label_printer: bad host' }));
  await dlg.getByTestId('profile-save').click();
  await dlg.getByText('Input refused: label_printer: bad host').waitFor();
  await dlg.getByTestId('profile-save').click();
  await dlg.waitFor({ state: 'hidden' });
  assert.deepEqual((await callsOf(page, 'set_device_printer_profile'))[2].args.profile, { labelPrinter: 'tcp://10.0.0.22:9100', labelFormat: 'zpl300', documentPrinter: null });
  await context.close();
});
