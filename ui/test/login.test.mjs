import test from 'node:test';
import assert from 'node:assert/strict';
import { useBrowser, openApp, callsOf, screenshot } from './support.mjs';

const env = useBrowser(test);

test('login: probe, confirm the fingerprint, mfa_required asks for the TOTP, then signed in', async () => {
  const { page, context, problems } = await openApp(env.browser, env.base, { mfa: true, locale: 'en', secretStore: 'file' });
  // The fallback secret store is shown with a warning.
  await page.getByTestId('store-warning').waitFor();
  assert.match(await page.getByTestId('secret-store').innerText(), /File \(fallback\)/);

  await page.getByLabel('Server address').fill('https://wms.example.jp');
  await page.getByRole('button', { name: 'Check server' }).click();
  await page.getByTestId('fingerprint').waitFor();
  assert.match(await page.getByTestId('fingerprint').innerText(), /AB:CD:EF:01/);
  // No credentials can be entered before the fingerprint is confirmed.
  assert.equal(await page.getByLabel('Password').count(), 0);
  await screenshot(page, 'login-fingerprint');
  await page.getByLabel('I confirm this fingerprint').check();

  await page.getByLabel('Tenant').fill('acme');
  await page.getByLabel('Email').fill('packer@example.jp');
  await page.getByLabel('Password').fill('secret');
  assert.equal(await page.getByLabel('One-time code (authenticator app)').count(), 0);
  await page.getByRole('button', { name: 'Sign in' }).click();

  const totp = page.getByLabel('One-time code (authenticator app)');
  await totp.waitFor();
  assert.match(await page.getByTestId('login-error').innerText(), /Enter the one-time code/);
  // The TOTP field gets focus so the user can type straight away.
  assert.equal(await page.evaluate(() => document.activeElement?.id), 'totp');
  await screenshot(page, 'login-totp');
  await page.keyboard.type('000000');
  await page.keyboard.press('Enter');
  await page.getByText('The one-time code is wrong.').waitFor();
  await totp.fill('123456');
  await page.keyboard.press('Enter');
  await page.getByTestId('prompt').waitFor();

  const logins = (await callsOf(page, 'login')).map((c) => c.args);
  assert.equal(logins.length, 3);
  assert.deepEqual(logins[0], {
    server: 'https://wms.example.jp',
    fingerprint: 'AB:CD:EF:01:23:45:67:89:AB:CD:EF:01:23:45:67:89:AB:CD:EF:01:23:45:67:89:AB:CD:EF:01:23:45:67:89',
    tenant: 'acme',
    email: 'packer@example.jp',
    password: 'secret',
    totp: null,
  });
  assert.equal(logins[2].totp, '123456');
  assert.deepEqual(problems, []);
  await context.close();
});

test('login errors are catalog messages in English and in Japanese; unknown codes fall back to the message', async () => {
  for (const [locale, expected] of [
    ['en', 'Tenant, email or password is wrong.'],
    ['ja', 'テナント、メールアドレスまたはパスワードが違います。'],
  ]) {
    const { page, context } = await openApp(env.browser, env.base, { locale });
    await page.locator('#server').fill('https://wms.example.jp');
    await page.locator('#server').press('Enter');
    await page.getByTestId('confirm-fingerprint').check();
    await page.locator('#tenant').fill('acme');
    await page.locator('#email').fill('a@example.jp');
    await page.locator('#password').fill('wrong');
    await page.locator('#password').press('Enter');
    const err = page.getByTestId('login-error');
    await err.waitFor();
    assert.equal(await err.innerText(), expected);
    assert.equal(await page.evaluate(() => document.documentElement.lang), locale);
    await context.close();
  }

  const { page, context } = await openApp(env.browser, env.base, {
    locale: 'en',
    failNext: { probe_server: { code: 'brand_new_code', message: 'Something the UI has never heard of' } },
  });
  await page.locator('#server').fill('https://wms.example.jp');
  await page.locator('#server').press('Enter');
  await page.getByText('Something the UI has never heard of').waitFor();
  // tls_pin_mismatch, from the catalog, with its instruction.
  await page.evaluate(() => window.__mock.failNext('probe_server', { code: 'tls_pin_mismatch', message: 'pin' }));
  await page.locator('#server').press('Enter');
  await page.getByText(/does not match the confirmed fingerprint/).waitFor();
  await context.close();
});

test('the login screen shows the platform secret store without the fallback warning', async () => {
  const { page, context } = await openApp(env.browser, env.base, { locale: 'en', secretStore: 'keyring' });
  await page.getByTestId('secret-store').waitFor();
  assert.match(await page.getByTestId('secret-store').innerText(), /OS keyring/);
  assert.equal(await page.getByTestId('store-warning').count(), 0);
  await context.close();
});
