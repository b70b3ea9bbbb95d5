import test from 'node:test';
import assert from 'node:assert/strict';
import { useBrowser, openApp, callsOf, screenshot, axeInBothLocales } from './support.mjs';

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

/** Up to the sign-in with the right password, keyboard only; the app answers with its gate. */
async function signInTo(page) {
  await page.locator('#server').fill('https://wms.example.jp');
  await page.locator('#server').press('Enter');
  await page.getByTestId('confirm-fingerprint').check();
  await page.locator('#tenant').fill('acme');
  await page.locator('#email').fill('sup@example.jp');
  await page.locator('#password').fill('secret');
  await page.locator('#password').press('Enter');
}

test('mfa enrolment at the login: QR image and grouped key, a wrong code refused, then the next code signs in', async () => {
  const { page, context, problems } = await openApp(env.browser, env.base, { locale: 'en', gate: 'enrol' });
  await signInTo(page);
  const enrol = page.getByTestId('mfa-enrol');
  await enrol.getByRole('heading', { name: 'Set up two-step verification' }).waitFor();
  // The password is gone from the form, and the login form with it; the server is settled.
  assert.equal(await page.getByTestId('login-form').count(), 0);
  assert.equal(await page.getByTestId('probe-form').count(), 0);
  const qr = page.getByRole('img', { name: 'QR code of the authenticator key' });
  await qr.waitFor();
  const src = await qr.getAttribute('src');
  assert.ok(src.startsWith('data:image/svg+xml;base64,'), src);
  // The image decoded (img-src allows data:), and no markup of the server was put into the page.
  assert.ok(await qr.evaluate((img) => img.complete && img.naturalWidth > 0));
  assert.equal(await page.locator('[data-testid=mfa-enrol] svg').count(), 0);
  assert.equal(await page.getByTestId('enrol-secret').innerText(), 'JBSW Y3DP EHPK 3PXP JBSW Y3DP EHPK 3PXP');
  // The code field has focus: type straight away.
  assert.equal(await page.evaluate(() => document.activeElement?.id), 'enrol-code');
  await screenshot(page, 'login-mfa-enrol');

  await page.keyboard.type('000000');
  await page.keyboard.press('Enter');
  await page.getByTestId('gate-error').getByText('The one-time code is wrong.').waitFor();
  assert.equal(await page.getByTestId('enrol-done').count(), 0);

  await page.keyboard.type('123456');
  await page.keyboard.press('Enter');
  await page.getByTestId('enrol-done').waitFor();
  assert.match(await page.getByTestId('enrol-done').innerText(), /Enrolled\. Wait until the app shows the next code/);
  // The key is not shown any more.
  assert.equal(await page.getByTestId('enrol-secret').count(), 0);
  // The confirming code again: refused as already used.
  await page.getByLabel('Next code').fill('123456');
  await page.keyboard.press('Enter');
  await page.getByTestId('gate-error').getByText('This one-time code was already used. Wait for the next code.').waitFor();
  await page.getByLabel('Next code').fill('654321');
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByTestId('prompt').waitFor();

  assert.deepEqual((await callsOf(page, 'login_enrol_confirm')).map((c) => c.args.code), ['000000', '123456']);
  assert.deepEqual((await callsOf(page, 'login_enrol_sign_in')).map((c) => c.args.code), ['123456', '654321']);
  assert.deepEqual(problems, []);
  await context.close();
});

test('password change at the login: a mismatch caught before sending, the policy and a wrong current password shown, then signed in', async () => {
  const { page, context, problems } = await openApp(env.browser, env.base, { locale: 'en', gate: 'password' });
  await signInTo(page);
  await page.getByRole('heading', { name: 'Change your password' }).waitFor();
  assert.equal(await page.evaluate(() => document.activeElement?.id), 'pw-current');
  await page.keyboard.type('secret');
  await page.keyboard.press('Tab');
  await page.keyboard.type('Kobe-harbour-crane-42');
  await page.getByLabel('New password again').fill('Kobe-harbour-crane-43');
  await page.getByLabel('New password again').press('Enter');
  await page.getByTestId('gate-error').getByText('The two new passwords differ.').waitFor();
  assert.equal((await callsOf(page, 'login_change_password')).length, 0);

  await page.getByLabel('New password', { exact: true }).fill('short');
  await page.getByLabel('New password again').fill('short');
  await page.getByLabel('New password again').press('Enter');
  await page.getByTestId('gate-error').getByText('The new password is not accepted: password must be at least 12 characters').waitFor();

  await page.getByLabel('Current password').fill('wrong');
  await page.getByLabel('New password', { exact: true }).fill('Kobe-harbour-crane-42');
  await page.getByLabel('New password again').fill('Kobe-harbour-crane-42');
  await page.getByLabel('New password again').press('Enter');
  await page.getByTestId('gate-error').getByText('The current password is wrong.').waitFor();
  await screenshot(page, 'login-password-change');

  await page.getByLabel('Current password').fill('secret');
  await page.getByLabel('New password', { exact: true }).fill('Kobe-harbour-crane-42');
  await page.getByLabel('New password again').fill('Kobe-harbour-crane-42');
  await page.getByRole('button', { name: 'Change password and sign in' }).click();
  await page.getByTestId('prompt').waitFor();
  const sent = (await callsOf(page, 'login_change_password')).map((c) => c.args);
  assert.equal(sent.length, 3);
  assert.deepEqual(sent[2], { current: 'secret', new: 'Kobe-harbour-crane-42', repeat: 'Kobe-harbour-crane-42' });
  assert.deepEqual(problems, []);
  await context.close();
});

test('enrolment then a password change, in Japanese', async () => {
  const { page, context, problems } = await openApp(env.browser, env.base, { locale: 'ja', gate: 'both' });
  await signInTo(page);
  await page.getByRole('heading', { name: '二段階認証の設定' }).waitFor();
  await page.getByLabel('アプリに表示されたコード').fill('123456');
  await page.getByRole('button', { name: '確認', exact: true }).click();
  await page.getByLabel('次のコード').fill('654321');
  await page.getByLabel('次のコード').press('Enter');
  await page.getByRole('heading', { name: 'パスワードの変更' }).waitFor();
  await page.getByLabel('現在のパスワード').fill('secret');
  await page.getByLabel('新しいパスワード', { exact: true }).fill('Kobe-harbour-crane-42');
  await page.getByLabel('新しいパスワード（確認）').fill('Kobe-harbour-crane-42');
  await page.getByRole('button', { name: 'パスワードを変更してサインイン' }).click();
  await page.getByTestId('prompt').waitFor();
  assert.deepEqual(problems, []);
  await context.close();
});

test('an expired sign-in at a gate goes back to the sign-in form with the reason; Back drops the gate', async () => {
  const { page, context } = await openApp(env.browser, env.base, {
    locale: 'en',
    gate: 'enrol',
    failNext: { login_enrol_start: { code: 'login_expired', message: 'expired' } },
  });
  await signInTo(page);
  await page.getByTestId('login-error').getByText('This sign-in has expired. Sign in again.').waitFor();
  assert.equal(await page.getByTestId('mfa-enrol').count(), 0);
  assert.equal(await page.locator('#password').inputValue(), '');
  assert.equal(await page.evaluate(() => document.activeElement?.id), 'password');

  await page.locator('#password').fill('secret');
  await page.locator('#password').press('Enter');
  await page.getByTestId('enrol-secret').waitFor();
  await page.getByRole('button', { name: 'Back to sign-in' }).click();
  await page.getByTestId('login-form').waitFor();
  await page.getByTestId('probe-form').waitFor();
  assert.equal((await callsOf(page, 'login_gate_cancel')).length, 1);
  await context.close();
});

test('axe: the enrolment and password-change screens in English and Japanese', async () => {
  for (const gate of ['enrol', 'password']) {
    const found = await axeInBothLocales(async (locale) => {
      const { page, context } = await openApp(env.browser, env.base, { locale, gate });
      await signInTo(page);
      await page.getByTestId(gate === 'enrol' ? 'enrol-secret' : 'password-change').waitFor();
      return { page, context };
    });
    assert.deepEqual(found, [], gate);
  }
});
