import test from 'node:test';
import assert from 'node:assert/strict';
import { useBrowser, openApp, callsOf, screenshot, axeInBothLocales } from './support.mjs';

const env = useBrowser(test);

async function auditTab(config = {}) {
  const r = await openApp(env.browser, env.base, { loggedIn: true, role: 'admin', locale: 'en', ...config });
  await r.page.getByTestId('nav-admin').click();
  await r.page.getByTestId('tab-audit').click();
  return r;
}

const rows = (page) => page.locator('[data-testid=audit-log-viewport] [role=row]');

test('audit log: newest first in a virtual table, 200 at a time; "Load older" pages back with next_before and keeps the place', async () => {
  const { page, context, problems } = await auditTab();
  const count = page.getByTestId('audit-count');
  await count.getByText('200 events (older ones not loaded yet)').waitFor();
  assert.deepEqual((await callsOf(page, 'audit_log'))[0].args, { before: null, limit: 200 });
  const first = await rows(page).first().getByRole('cell').allInnerTexts();
  assert.deepEqual(first, ['450', '28 Nov 2026, 18:00', 'user:0193a1b2-7c4d-7e5f-8a9b-00000000a11e', 'login_ok', '', 'Success', '', '']);
  const n = await rows(page).count();
  assert.ok(n > 5 && n < 60, `rows in the DOM: ${n}`);
  // The chain verification stays next to the log.
  await page.getByTestId('audit-verify').click();
  await page.getByTestId('audit-result').getByText('Audit chain intact: 4,821 entries checked.').waitFor();
  await screenshot(page, 'admin-audit-log');

  await page.getByTestId('audit-log-viewport').focus();
  await page.keyboard.press('End');
  await page.getByTestId('audit-log-viewport').getByText('251', { exact: true }).waitFor();
  await page.getByTestId('audit-older').click();
  await count.getByText('400 events (older ones not loaded yet)').waitFor();
  assert.deepEqual((await callsOf(page, 'audit_log'))[1].args, { before: 251, limit: 200 });
  assert.notEqual(await page.getByTestId('audit-log-viewport').evaluate((el) => el.scrollTop), 0, 'the reader keeps their place');
  await page.getByTestId('audit-older').click();
  await count.getByText('450 events').waitFor();
  assert.equal(await page.getByTestId('audit-older').count(), 0, 'nothing older');
  assert.equal(await page.getByTestId('audit-log').getAttribute('aria-rowcount'), '451');
  await page.getByTestId('audit-log-viewport').press('End');
  await page.getByTestId('audit-log-viewport').getByText('role_changed').last().waitFor();

  // Reload starts again at the newest page, at the top.
  await page.getByTestId('audit-reload').click();
  await count.getByText('200 events (older ones not loaded yet)').waitFor();
  assert.equal(await page.getByTestId('audit-log-viewport').evaluate((el) => el.scrollTop), 0);
  assert.deepEqual(problems, []);
  await context.close();
});

test('audit log: failures and denials stand out; Japanese labels', async () => {
  const { page, context } = await auditTab({ locale: 'ja' });
  await page.getByTestId('audit-count').getByText('200 件(さらに古いイベントがあります)').waitFor();
  const cells = await rows(page).nth(2).getByRole('cell').allInnerTexts();
  assert.equal(cells[3], 'login_failed');
  assert.equal(cells[5], '失敗');
  const color = await rows(page).nth(2).locator('.outcome-failure').evaluate((el) => getComputedStyle(el).color);
  assert.equal(color, 'rgb(176, 0, 32)');
  assert.equal((await rows(page).nth(3).getByRole('cell').allInnerTexts())[5], '拒否');
  await context.close();
});

test('audit log: errors are shown; a failed "Load older" keeps the rows; an empty log says so', async () => {
  let { page, context } = await auditTab({ failNext: { audit_log: { code: 'forbidden', message: 'admin only' } } });
  await page.getByTestId('audit-log-error').getByText('Your role may not do this.').waitFor();
  assert.equal(await page.getByTestId('audit-empty').count(), 0, 'an error is not "empty"');
  await page.getByTestId('audit-reload').click();
  await page.getByTestId('audit-count').getByText('200 events (older ones not loaded yet)').waitFor();
  await page.evaluate(() => window.__mock.failNext('audit_log', { code: 'offline', message: 'connection refused' }));
  await page.getByTestId('audit-older').click();
  await page.getByTestId('audit-log-error').getByText('The server cannot be reached. The action was not done.').waitFor();
  assert.equal(await page.getByTestId('audit-log').getAttribute('aria-rowcount'), '201', 'the rows stay');
  await context.close();

  ({ page, context } = await auditTab({ auditEvents: 0 }));
  await page.getByTestId('audit-empty').getByText('The audit log is empty.').waitFor();
  await context.close();
});

test('audit log: only an admin has the admin screen; the command is refused to others', async () => {
  const { page, context } = await openApp(env.browser, env.base, { loggedIn: true, role: 'supervisor', locale: 'en' });
  await page.getByTestId('nav-supervisor').waitFor();
  assert.equal(await page.getByTestId('nav-admin').count(), 0);
  const code = await page.evaluate(() => window.__TAURI_INTERNALS__.invoke('audit_log', { before: null, limit: 200 }).catch((e) => e.code));
  assert.equal(code, 'forbidden');
  await context.close();
});

test('axe: the audit tab (verification and log) in both languages', async () => {
  const found = await axeInBothLocales(async (locale) => {
    const r = await auditTab({ locale });
    await r.page.getByTestId('audit-log').waitFor();
    await r.page.getByTestId('audit-verify').click();
    await r.page.getByTestId('audit-result').waitFor();
    return r;
  });
  assert.deepEqual(found, []);
});
