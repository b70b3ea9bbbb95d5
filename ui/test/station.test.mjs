import test from 'node:test';
import assert from 'node:assert/strict';
import { useBrowser, openApp, callsOf, screenshot } from './support.mjs';

const env = useBrowser(test);

test('status strip: offline banner from status and from a station://status event', async () => {
  const { page, context } = await openApp(env.browser, env.base, { loggedIn: true, locale: 'en', online: false });
  await page.getByTestId('offline-banner').waitFor();
  assert.match(await page.getByTestId('offline-banner').innerText(), /Offline/);
  assert.equal(await page.getByTestId('online').innerText(), 'Offline');
  await screenshot(page, 'status-offline');
  await page.evaluate(() => window.__mock.setOnline(true));
  await page.getByTestId('offline-banner').waitFor({ state: 'detached' });
  assert.equal(await page.getByTestId('online').innerText(), 'Online');
  await page.evaluate(() => window.__mock.setOnline(false));
  await page.getByTestId('offline-banner').waitFor();
  await context.close();
});

test('status strip: outbox, printer, recent Amazon feedback', async () => {
  const { page, context } = await openApp(env.browser, env.base, { loggedIn: true, locale: 'en', outboxPending: 3 });
  const strip = page.getByTestId('status-strip');
  await strip.getByText('Outbox: 3').waitFor();
  await strip.getByText('Printer: ready').waitFor();
  await strip.getByText('503-0000000-0000001: confirmed').waitFor();
  await strip.getByText('503-0000000-0000009: failed').waitFor();
  await context.close();
});

test('sync shows a progress bar fed by sync://progress, then the report', async () => {
  const { page, context } = await openApp(env.browser, env.base, { loggedIn: true, locale: 'en' });
  await page.getByTestId('sync').click();
  const bar = page.getByTestId('sync-progress');
  await bar.waitFor();
  await page.waitForFunction(() => document.querySelector('[data-testid=sync-progress]')?.getAttribute('value') === '10');
  assert.equal(await bar.getAttribute('max'), '30');
  await page.getByText('Sync finished: 2 orders, 4 products in 450 ms').waitFor();
  await bar.waitFor({ state: 'detached' });
  await context.close();
});

test('navigation by role', async () => {
  for (const [role, expected] of [
    ['packer', ['packer']],
    ['supervisor', ['packer', 'supervisor']],
    ['admin', ['packer', 'supervisor', 'admin']],
  ]) {
    const { page, context } = await openApp(env.browser, env.base, { loggedIn: true, role, locale: 'en' });
    await page.getByTestId('prompt').waitFor();
    const shown = await page.locator('nav [data-testid^=nav-]').evaluateAll((els) => els.map((e) => e.dataset.testid.slice(4)));
    assert.deepEqual(shown, expected, role);
    await context.close();
  }
});

test('logout with queued actions asks before discarding them', async () => {
  const { page, context } = await openApp(env.browser, env.base, { loggedIn: true, locale: 'en', outboxPending: 2 });
  await page.getByTestId('logout').click();
  const dlg = page.getByTestId('logout-confirm');
  await dlg.waitFor();
  assert.match(await dlg.innerText(), /discards them/);
  await dlg.getByRole('button', { name: 'Cancel' }).click();
  await dlg.waitFor({ state: 'hidden' });
  assert.deepEqual((await callsOf(page, 'logout')).map((c) => c.args), [{ force: false }]);
  await page.getByTestId('logout').click();
  await page.getByTestId('logout-force').click();
  await page.getByText('Logged out.').waitFor();
  await page.getByLabel('Server address').waitFor();
  assert.deepEqual((await callsOf(page, 'logout')).map((c) => c.args), [{ force: false }, { force: false }, { force: true }]);
  await context.close();
});

test('a session_expired from any command returns to the login screen with the message', async () => {
  const { page, context } = await openApp(env.browser, env.base, { loggedIn: true, locale: 'en', failNext: { open_order: { code: 'session_expired', message: 'refresh refused' } } });
  await page.getByTestId('prompt').waitFor();
  await page.keyboard.type('PL0001\n', { delay: 5 });
  await page.getByText('Your session has expired. Please sign in again.').first().waitFor();
  await page.getByLabel('Server address').waitFor();
  await context.close();
});

test('device_wiped / device_revoked from any command return to the login screen saying the station was erased', async () => {
  const wiped = 'An administrator wiped this station: its local data (cached orders, unsent actions and keys) was erased. Sign in again to continue.';
  let { page, context } = await openApp(env.browser, env.base, { loggedIn: true, locale: 'en', failNext: { open_order: { code: 'device_wiped', message: 'this station was wiped' } } });
  await page.getByTestId('prompt').waitFor();
  await page.keyboard.type('PL0001\n', { delay: 5 });
  await page.getByRole('status').filter({ hasText: wiped }).waitFor();
  await page.getByLabel('Server address').waitFor();
  assert.equal(await page.getByTestId('nav-packer').count(), 0);
  await context.close();

  ({ page, context } = await openApp(env.browser, env.base, { loggedIn: true, locale: 'ja', failNext: { sync: { code: 'device_revoked', message: 'this device is revoked' } } }));
  await page.getByTestId('sync').click();
  await page.getByRole('status').filter({ hasText: '管理者がこの端末を無効化しました' }).waitFor();
  await page.locator('#server').waitFor();
  await context.close();
});

test('if app_info fails at start the error is shown with a retry', async () => {
  const { page, context } = await openApp(env.browser, env.base, { locale: 'en', failNext: { app_info: { code: 'internal', message: 'state file unreadable' } } });
  await page.getByTestId('boot-error').waitFor();
  assert.equal(await page.getByTestId('boot-error').innerText(), 'Something went wrong: state file unreadable');
  await page.getByTestId('boot-retry').click();
  await page.getByLabel('Server address').waitFor();
  await context.close();
});
