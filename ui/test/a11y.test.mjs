import test from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { useBrowser, openApp, axe, scan, distDir, screenshot } from './support.mjs';

const env = useBrowser(test);

test('axe: no serious or critical violations on login, packer, supervisor and admin screens', async () => {
  const found = {};
  for (const locale of ['en', 'ja']) {
    let { page, context } = await openApp(env.browser, env.base, { locale, secretStore: 'file' });
    await page.locator('#server').fill('https://wms.example.jp');
    await page.locator('#server').press('Enter');
    await page.getByTestId('confirm-fingerprint').check();
    found[`login/${locale}`] = await axe(page);
    await context.close();

    ({ page, context } = await openApp(env.browser, env.base, { loggedIn: true, role: 'admin', locale, online: false }));
    await page.getByTestId('prompt').waitFor();
    found[`packer-idle/${locale}`] = await axe(page);
    await scan(page, 'PL0001');
    await page.getByTestId('lines').waitFor();
    await scan(page, '4909999999999');
    await page.getByRole('alert').waitFor();
    found[`packer-order/${locale}`] = await axe(page);
    for (const code of ['4901234567894', '4901234567894', '4901234567900']) await scan(page, code);
    await page.getByTestId('package-form').waitFor();
    found[`packer-package/${locale}`] = await axe(page);

    await page.getByTestId('nav-supervisor').click();
    await page.getByTestId('stock').waitFor();
    found[`supervisor-inventory/${locale}`] = await axe(page);
    await page.getByTestId('tab-exceptions').click();
    await page.getByTestId('exceptions').waitFor();
    found[`supervisor-exceptions/${locale}`] = await axe(page);
    await page.getByTestId('tab-movements').click();
    await page.getByTestId('movements').waitFor();
    found[`supervisor-movements/${locale}`] = await axe(page);
    await page.getByTestId('tab-approvals').click();
    await page.getByTestId('adjustments').waitFor();
    found[`supervisor-approvals/${locale}`] = await axe(page);
    for (const [tab, list] of [['receiving', 'inbound'], ['returns', 'returns'], ['counts', 'counts']]) {
      await page.getByTestId(`tab-${tab}`).click();
      await page.getByTestId(list).waitFor();
      found[`supervisor-${tab}/${locale}`] = await axe(page);
    }

    await page.getByTestId('nav-admin').click();
    await page.getByTestId('users').waitFor();
    found[`admin-users/${locale}`] = await axe(page);
    await page.getByTestId('tab-audit').click();
    await page.getByTestId('audit-log').waitFor();
    found[`admin-audit/${locale}`] = await axe(page);
    await page.getByTestId('tab-printers').click();
    await page.getByTestId('printer-profile').waitFor();
    found[`admin-printers/${locale}`] = await axe(page);
    await page.getByTestId('tab-devices').click();
    await page.getByTestId('devices').waitFor();
    found[`admin-devices/${locale}`] = await axe(page);
    await page.getByRole('button', { name: /Remote wipe of PACK-BENCH-2|PACK-BENCH-2 をリモート消去/ }).click();
    await page.getByTestId('wipe-dialog').waitFor();
    found[`admin-devices-wipe/${locale}`] = await axe(page);
    await page.getByTestId('wipe-dialog').getByRole('button', { name: /Cancel|キャンセル/ }).click();
    await page.getByRole('button', { name: /Printer profile of PACK-BENCH-2|PACK-BENCH-2 のプリンター設定/ }).click();
    await page.getByTestId('profile-dialog').waitFor();
    found[`admin-devices-profile/${locale}`] = await axe(page);
    await page.getByTestId('profile-dialog').getByRole('button', { name: /Cancel|キャンセル/ }).click();
    await page.getByTestId('tab-privacy').click();
    await page.getByTestId('dreq-list').waitFor();
    found[`admin-privacy/${locale}`] = await axe(page);
    await page.getByTestId('tab-users').click();
    await page.getByRole('button', { name: /two-step|2段階認証/ }).first().click();
    await page.getByTestId('stepup-dialog').waitFor();
    found[`admin-stepup/${locale}`] = await axe(page);
    await context.close();
  }
  const bad = Object.entries(found).filter(([, v]) => v.length > 0);
  assert.deepEqual(bad, []);
});

test('keyboard only: Tab reaches the controls in order and focus is visible', async () => {
  const { page, context } = await openApp(env.browser, env.base, { loggedIn: true, role: 'admin', locale: 'en' });
  await page.getByTestId('prompt').waitFor();
  await page.evaluate(() => document.activeElement?.blur());
  const seen = [];
  // Starting after the scan prompt (which has focus on load), Tab runs to the end, wraps through
  // the browser's own UI (focus on BODY), and starts again at the top.
  for (let i = 0; i < 16; i++) {
    await page.keyboard.press('Tab');
    const f = await page.evaluate(() => {
      const el = document.activeElement;
      const cs = getComputedStyle(el);
      return { id: el.id || el.dataset.testid || el.textContent.trim().slice(0, 20), tag: el.tagName, outline: cs.outlineStyle, width: parseFloat(cs.outlineWidth) };
    });
    if (f.tag === 'BODY') continue;
    seen.push(f);
 assert.ok(f.outline !== 'none' && f.width >= 2, `focus visible on ${f.id}: ${f.outline} ${f.width}`);
  }
  const ids = seen.map((s) => s.id);
  for (const want of ['Skip to main content', 'nav-packer', 'nav-supervisor', 'nav-admin', 'lang-select', 'logout', 'sync', 'manual-scan']) {
    assert.ok(ids.includes(want), `Tab reaches ${want}: ${ids.join(' | ')}`);
  }
  const top = ids.indexOf('Skip to main content');
  const order = ['nav-packer', 'nav-supervisor', 'nav-admin', 'lang-select', 'logout', 'sync'].map((x) => ids.indexOf(x, top));
  assert.deepEqual([...order].sort((a, b) => a - b), order, `header order: ${ids.join(' | ')}`);
  // Every interactive element has an accessible name.
  const unnamed = await page.evaluate(() =>
    [...document.querySelectorAll('button, input, select, [role=tab]')]
      .filter((el) => !(el.labels?.length || el.getAttribute('aria-label') || el.textContent.trim()))
      .map((el) => el.outerHTML.slice(0, 80)),
  );
  assert.deepEqual(unnamed, []);
  await screenshot(page, 'packer-focus');
  await context.close();
});

test('the production bundle has no mock code and the app runs under the strict CSP', async () => {
  const assets = fs.readdirSync(path.join(distDir, 'assets'));
  for (const f of assets) {
    const s = fs.readFileSync(path.join(distDir, 'assets', f), 'utf8');
    for (const marker of ['__mock', 'mockIPC', 'JilianMockBackend', 'shouldMockEvents', '__MOCK_CONFIG__']) {
      assert.ok(!s.includes(marker), `${f} contains ${marker}`);
    }
  }
  const html = fs.readFileSync(path.join(distDir, 'index.html'), 'utf8');
  assert.doesNotMatch(html, /<script(?![^>]*\bsrc=)[^>]*>/, 'no inline scripts');
  assert.doesNotMatch(html, /https?:\/\//, 'no remote resources');

  const { page, context, problems } = await openApp(env.browser, env.base, { loggedIn: true, role: 'admin', locale: 'ja' });
  await page.getByTestId('prompt').waitFor();
  await scan(page, 'PL0001');
  await page.getByTestId('lines').locator('img').first().waitFor();
  await page.getByTestId('nav-supervisor').click();
  await page.getByTestId('stock').waitFor();
  await page.getByTestId('nav-packer').click();
  assert.deepEqual(await page.evaluate(() => window.__cspViolations ?? []), []);
  assert.deepEqual(problems, []);
  await screenshot(page, 'packer-ja');
  await context.close();
});
