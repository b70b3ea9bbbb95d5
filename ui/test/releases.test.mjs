import test from 'node:test';
import assert from 'node:assert/strict';
import { useBrowser, openApp, callsOf, screenshot, axeInBothLocales } from './support.mjs';

const env = useBrowser(test);

// A minisign signature's shape, base64 (what the .sig file of `tauri signer sign` holds).
const SIG = Buffer.from('untrusted comment: signature from tauri secret key\nRUQ\ntrusted comment: timestamp:1\tfile:app.deb\tversion:1.3.0\nabc\n').toString('base64');

async function releasesTab(config = {}) {
  const r = await openApp(env.browser, env.base, { loggedIn: true, role: 'admin', locale: 'en', ...config });
  await r.page.getByTestId('nav-admin').click();
  await r.page.getByTestId('tab-releases').click();
  await r.page.locator('[data-testid=releases], [data-testid=releases-empty]').first().waitFor();
  return r;
}

const row = (page, version) => page.getByTestId(`release-${version}`);

/** Types the one-time code into the step-up prompt and submits it. */
async function stepUp(page, code) {
  const su = page.getByTestId('stepup-dialog');
  await su.waitFor();
  await su.getByLabel('One-time code').fill(code);
  await page.keyboard.press('Enter');
}

async function fillRelease(page, { version, notes = '', rollout = '10', url = 'https://dl.example.jp/jilian_1.3.0_amd64.deb', signature = SIG }) {
  const form = page.getByTestId('release-form');
  await form.getByLabel('Version').fill(version);
  await form.getByLabel('Release notes').fill(notes);
  await form.getByLabel('Rollout (%)').fill(rollout);
  const a = page.getByTestId('artifact-0');
  await a.getByLabel('Download URL (https)').fill(url);
  await a.getByLabel('Signature (the .sig file)').fill(signature);
}

test('releases: the published releases, newest first, with rollout, state, platforms and who published them', async () => {
  const { page, context, problems } = await releasesTab();
  await page.getByTestId('releases-count').getByText('3 releases').waitFor();
  assert.deepEqual((await callsOf(page, 'releases_list')).map((c) => c.args), [{ channel: null }]);
  const versions = await page.locator('[data-testid=releases] tbody tr td:first-child').allInnerTexts();
  assert.deepEqual(versions.map((v) => v.split('\n')[0]), ['1.2.0', '1.1.0', '1.0.0']);
  const cells = await row(page, '1.2.0').getByRole('cell').allInnerTexts();
  assert.deepEqual(cells.slice(1, 5), ['stable', '25%', 'Rolling out', 'linux-x86_64']);
  assert.match(cells[0], /Faster sync/);
  assert.match(cells[5], /15 Nov 2026, \d\d:00 by 0193a1b2-7c4d-7e5f-8a9b-00000000a11e/);
  assert.equal(await row(page, '1.0.0').getByTestId('rollout').innerText(), '100%');
  await screenshot(page, 'admin-releases');
  assert.deepEqual(problems, []);
  await context.close();
});

test('releases: publishing asks for the TOTP (a wrong code, then the right one) and the new release heads the list', async () => {
  const { page, context } = await releasesTab();
  await fillRelease(page, { version: 'v1.3.0', notes: 'Printing PDF labels', rollout: '50' });
  // A second artifact, then a third removed again.
  await page.getByTestId('artifact-add').click();
  const second = page.getByTestId('artifact-1');
  await second.getByLabel('Platform').fill('linux-x86_64-deb');
  await second.getByLabel('Download URL (https)').fill('https://dl.example.jp/jilian_1.3.0_amd64.deb');
  // Pasted with the line breaks of a wrapped .sig file: sent without them.
  await second.getByLabel('Signature (the .sig file)').fill(`${SIG.slice(0, 40)}\n${SIG.slice(40)}`);
  await page.getByTestId('artifact-add').click();
  await page.getByTestId('artifact-remove-2').click();
  assert.equal(await page.getByTestId('artifact-2').count(), 0);
  await page.getByTestId('release-publish').click();
  await stepUp(page, '999999');
  await page.getByTestId('stepup-dialog').getByText('The one-time code is wrong.').waitFor();
  await stepUp(page, '123456');
  await page.getByTestId('stepup-dialog').waitFor({ state: 'hidden' });
  await page.getByTestId('release-notice').getByText('Version 1.3.0 published on stable, offered to 50% of stations.').waitFor();
  const want = {
    version: '1.3.0',
    channel: null,
    notes: 'Printing PDF labels',
    rolloutPercent: 50,
    artifacts: [
      { platform: 'linux-x86_64', url: 'https://dl.example.jp/jilian_1.3.0_amd64.deb', signature: SIG },
      { platform: 'linux-x86_64-deb', url: 'https://dl.example.jp/jilian_1.3.0_amd64.deb', signature: SIG },
    ],
  };
  assert.deepEqual((await callsOf(page, 'release_publish')).map((c) => c.args), [want, want]);
  await page.getByTestId('releases-count').getByText('4 releases').waitFor();
  const first = await page.locator('[data-testid=releases] tbody tr').first().getByRole('cell').allInnerTexts();
  assert.deepEqual(first.slice(1, 5), ['stable', '50%', 'Rolling out', 'linux-x86_64, linux-x86_64-deb']);
  assert.equal(await page.getByTestId('release-form').getByLabel('Version').inputValue(), '', 'the form is cleared');
  assert.equal(await page.getByTestId('artifact-1').count(), 0);
  await screenshot(page, 'admin-releases-published');
  await context.close();
});

test('releases: input is checked before anything is sent; the server refusals (422, a duplicate) are messages', async () => {
  const { page, context } = await releasesTab();
  const error = page.getByTestId('release-error');
  await fillRelease(page, { version: '1.3' });
  await page.getByTestId('release-publish').click();
  await error.getByText('Enter the version as MAJOR.MINOR.PATCH, e.g. 1.4.0.').waitFor();
  await fillRelease(page, { version: '1.3.0', rollout: '150' });
  await page.getByTestId('release-publish').click();
  await error.getByText('The rollout must be a whole percent from 0 to 100.').waitFor();
  await fillRelease(page, { version: '1.3.0', url: 'http://dl.example.jp/a.deb' });
  await page.getByTestId('release-publish').click();
  await error.getByText('Artifact 1: enter the platform, an https URL and the signature.').waitFor();
  assert.equal((await callsOf(page, 'release_publish')).length, 0);
  assert.equal(await page.getByTestId('stepup-dialog').isVisible(), false);

  // The command's own check (a public key pasted for the signature): 422, no step-up asked.
  const key = Buffer.from('untrusted comment: minisign public key: 830527E73B260BA4\nRWSkCyY7\n').toString('base64');
  await fillRelease(page, { version: '1.3.0', signature: key });
  await page.getByTestId('release-publish').click();
  await error.getByText('Input refused: artifacts[0].signature: not a minisign signature').waitFor();
  assert.equal(await page.getByTestId('stepup-dialog').isVisible(), false);

  // The server's 422 after the step-up.
  await fillRelease(page, { version: '1.3.0' });
  await page.evaluate(() => window.__mock.failNext('release_publish', { code: 'validation_failed', message: 'version 1.3.0 has no artifact for any platform the stations run' }));
  await page.getByTestId('release-publish').click();
  await error.getByText('Input refused: version 1.3.0 has no artifact for any platform the stations run').waitFor();

  // A version published before: 409 after the step-up.
  await fillRelease(page, { version: '1.2.0' });
  await page.getByTestId('release-publish').click();
  await stepUp(page, '123456');
  await error.getByText('This version has already been published on this channel: version 1.2.0 is already published on channel stable').waitFor();
  await page.getByTestId('releases-count').getByText('3 releases').waitFor();
  await context.close();
});

test('releases: pause and resume after the TOTP, and a rollout change checked before it is sent', async () => {
  const { page, context } = await releasesTab();
  await row(page, '1.2.0').getByRole('button', { name: 'Pause version 1.2.0' }).click();
  await stepUp(page, '123456');
  await page.getByTestId('releases-notice').getByText('Version 1.2.0 is paused: stations are no longer offered it.').waitFor();
  assert.equal(await row(page, '1.2.0').getByTestId('state').innerText(), 'Paused');
  await row(page, '1.2.0').getByRole('button', { name: 'Resume version 1.2.0' }).click();
  await page.getByTestId('releases-notice').getByText('Version 1.2.0 is offered again to 25% of stations.').waitFor();
  assert.equal(await row(page, '1.2.0').getByTestId('state').innerText(), 'Rolling out');

  await row(page, '1.2.0').getByRole('button', { name: 'Change the rollout of version 1.2.0' }).click();
  const dlg = page.getByTestId('rollout-dialog');
  await dlg.getByText('Rollout of version 1.2.0').waitFor();
  assert.equal(await dlg.getByLabel('Share of stations (%)').inputValue(), '25');
  await dlg.getByLabel('Share of stations (%)').fill('101');
  await dlg.getByTestId('rollout-save').click();
  await dlg.getByText('The rollout must be a whole percent from 0 to 100.').waitFor();
  await dlg.getByLabel('Share of stations (%)').fill('60');
  await dlg.getByTestId('rollout-save').click();
  await page.getByTestId('releases-notice').getByText('Version 1.2.0 is now offered to 60% of stations.').waitFor();
  assert.equal(await row(page, '1.2.0').getByTestId('rollout').innerText(), '60%');
  // Each change names the release as it was shown (versionCheck), so one made meanwhile is not overwritten.
  assert.deepEqual((await callsOf(page, 'release_set')).map((c) => c.args), [
    { id: 'rel-0003', rolloutPercent: null, paused: true, versionCheck: 1 },
    { id: 'rel-0003', rolloutPercent: null, paused: true, versionCheck: 1 },
    { id: 'rel-0003', rolloutPercent: null, paused: false, versionCheck: 2 },
    { id: 'rel-0003', rolloutPercent: 60, paused: null, versionCheck: 3 },
  ]);
  await context.close();
});

test('releases: a change someone else made meanwhile is refused, said, and the list shows the release as it is now', async () => {
  const { page, context } = await releasesTab();
  await page.evaluate(() => window.__mock.state && (window.__mock.state.steppedUp = true));
  // Another admin pauses 1.1.0 after this list was loaded.
  await page.evaluate(() => Object.assign(window.__mock.releases[1], { paused: true, versionCheck: 2 }));
  assert.equal(await row(page, '1.1.0').getByTestId('state').innerText(), 'Rolling out');
  await row(page, '1.1.0').getByRole('button', { name: 'Pause version 1.1.0' }).click();
  await page.getByTestId('release-change-error').getByText('Someone else changed this meanwhile: it is shown as it is now. Try again if it is still needed.').waitFor();
  await row(page, '1.1.0').getByTestId('state').getByText('Paused').waitFor();
  assert.equal((await callsOf(page, 'releases_list')).length, 2);
  await context.close();
});

test('releases: an empty list and a refused list are said so', async () => {
  let { page, context } = await releasesTab({ releases: 0 });
  await page.getByTestId('releases-empty').getByText('No release has been published yet.').waitFor();
  await context.close();
  ({ page, context } = await openApp(env.browser, env.base, { loggedIn: true, role: 'admin', locale: 'en', failNext: { releases_list: { code: 'forbidden', message: 'admin only' } } }));
  await page.getByTestId('nav-admin').click();
  await page.getByTestId('tab-releases').click();
  await page.getByTestId('releases-error').getByText('Your role may not do this.').waitFor();
  await context.close();
});

test('update notice: a newer version for this station — Install shows the progress, then asks for a restart', async () => {
  const { page, context, problems } = await openApp(env.browser, env.base, { loggedIn: true, role: 'packer', locale: 'en', update: { version: '0.2.0', notes: 'Faster sync' } });
  const notice = page.getByTestId('update-notice');
  await notice.getByText('Version 0.2.0 is available (this station runs 0.1.0-test).').waitFor();
  // Nothing blocks the bench meanwhile.
  await page.getByTestId('prompt').waitFor();
  await notice.getByRole('button', { name: 'Install version 0.2.0' }).click();
  await notice.getByTestId('update-progress').waitFor();
  await notice.getByTestId('update-phase').getByText(/^Downloading( \d+%)?$/).waitFor();
  await notice.getByTestId('update-phase').getByText('Downloading 50%').waitFor();
  await screenshot(page, 'update-installing');
  await notice.getByTestId('update-restart').getByText('Version 0.2.0 is installed. Restart the app to finish, when the current order is done.').waitFor();
  assert.equal((await callsOf(page, 'update_install')).length, 1);
  assert.equal(await notice.getByTestId('update-install').count(), 0);
  await screenshot(page, 'update-installed');
  assert.deepEqual(problems, []);
  await context.close();
});

test('update notice: a refused signature is said plainly and Install stays; Later hides it; none without an update', async () => {
  let { page, context } = await openApp(env.browser, env.base, {
    loggedIn: true, role: 'packer', locale: 'en', update: { version: '0.2.0' },
    failNext: { update_install: { code: 'update_signature_invalid', message: 'signature mismatch' } },
  });
  const notice = page.getByTestId('update-notice');
  await notice.getByTestId('update-install').click();
  await notice.getByTestId('update-error').getByText(/^The update was not installed\. The update was refused: its signature does not match/).waitFor();
  await notice.getByTestId('update-install').waitFor();
  await notice.getByTestId('update-later').click();
  assert.equal(await page.getByTestId('update-notice').count(), 0);
  await context.close();

  ({ page, context } = await openApp(env.browser, env.base, { loggedIn: true, role: 'packer', locale: 'en', update: { version: '0.2.0', installable: false } }));
  await page.getByTestId('update-available').getByText('Version 0.2.0 is available. This copy cannot update itself: ask your administrator to install it.').waitFor();
  assert.equal(await page.getByTestId('update-install').count(), 0);
  await context.close();

  ({ page, context } = await openApp(env.browser, env.base, { loggedIn: true, role: 'packer', locale: 'en' }));
  await page.getByTestId('prompt').waitFor();
  await page.waitForFunction(() => window.__mock.callsOf('update_check').length === 1);
  assert.equal(await page.getByTestId('update-notice').count(), 0);
  await context.close();

  // A check that fails (an older server, offline) shows nothing either.
  ({ page, context } = await openApp(env.browser, env.base, { loggedIn: true, role: 'packer', locale: 'en', update: { version: '0.2.0' }, failNext: { update_check: { code: 'offline', message: 'unreachable' } } }));
  await page.getByTestId('prompt').waitFor();
  await page.waitForFunction(() => window.__mock.callsOf('update_check').length === 1);
  assert.equal(await page.getByTestId('update-notice').count(), 0);
  await context.close();
});

test('releases and the update notice in Japanese', async () => {
  const { page, context } = await releasesTab({ locale: 'ja', update: { version: '0.2.0' } });
  await page.getByTestId('update-notice').getByText('バージョン 0.2.0 が利用できます（この端末は 0.1.0-test）。').waitFor();
  assert.equal(await row(page, '1.2.0').getByTestId('state').innerText(), '配布中');
  await page.getByTestId('releases-count').getByText('3 件のリリース').waitFor();
  await screenshot(page, 'admin-releases-ja');
  await context.close();
});

test('axe: the releases tab, its dialogs and the update notice in both languages', async () => {
  const found = await axeInBothLocales(async (locale) => {
    const r = await releasesTab({ locale, update: { version: '0.2.0' } });
    await r.page.getByTestId('update-notice').waitFor();
    await r.page.getByTestId('artifact-add').click();
    return r;
  });
  assert.deepEqual(found, []);
  const dialogs = await axeInBothLocales(async (locale) => {
    const r = await releasesTab({ locale });
    await r.page.getByTestId('rollout-1.2.0').click();
    await r.page.getByTestId('rollout-dialog').waitFor();
    return r;
  });
  assert.deepEqual(dialogs, []);
});
