import test from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import ts from 'typescript';
import { useBrowser, openApp, callsOf, scan, uiDir } from './support.mjs';

// Transpiles the two catalog modules in memory (they only import types from each other).
async function loadCatalogs() {
  const load = async (name) => {
    const src = fs.readFileSync(path.join(uiDir, 'src/lib/i18n', `${name}.ts`), 'utf8');
    const js = ts.transpileModule(src, { compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022 } }).outputText;
    return import(`data:text/javascript,${encodeURIComponent(js)}`);
  };
  return { en: (await load('en')).en, ja: (await load('ja')).ja };
}

const env = useBrowser(test);

test('language switch: strings, numbers, dates and address order change; set_locale is called', async () => {
  const { page, context } = await openApp(env.browser, env.base, { loggedIn: true, locale: 'ja', stockRows: 2000, role: 'supervisor' });
  // Default from app_info().locale.
  await page.getByText('注文またはピッキングリストのバーコードをスキャンしてください').waitFor();
  await scan(page, 'PL0001');
  const recipient = page.getByTestId('recipient');
  await recipient.waitFor();
  assert.match(await recipient.innerText(), /〒100-0001 東京都千代田区 山田 太郎 様/);
  const shipJa = await page.getByText(/出荷期限/).innerText();
  assert.match(shipJa, /2026\/12\/01/); // 2026-11-30T15:00Z is 1 Dec in Tokyo

  await page.getByLabel('言語').selectOption('en');
  await page.getByText('Scan each item').waitFor();
  assert.match(await recipient.innerText(), /山田 太郎, 千代田区, 東京都 100-0001, Japan/);
  const shipEn = await page.getByText(/Ship by/).innerText();
  assert.match(shipEn, /1 Dec 2026/);
  assert.deepEqual((await callsOf(page, 'set_locale')).map((c) => c.args), [{ locale: 'en' }]);
  assert.equal(await page.evaluate(() => document.documentElement.lang), 'en');

  // Numbers: the inventory count uses the locale's grouping.
  await page.getByTestId('nav-supervisor').click();
  await page.getByTestId('stock-count').getByText('2,000 rows').waitFor();
  await page.getByLabel('Language').selectOption('ja');
  await page.getByTestId('stock-count').getByText('2,000 行').waitFor();
  await context.close();
});

test('a masked recipient without a city has no empty parts in either address order', async () => {
  const masked = { name: '高***', prefecture: '大阪府', city: '', postalCode: '530-****' };
  const { page, context } = await openApp(env.browser, env.base, { loggedIn: true, locale: 'ja', recipientMasked: masked });
  await page.getByTestId('prompt').waitFor();
  await scan(page, 'PL0001');
  const recipient = page.getByTestId('recipient');
  await recipient.waitFor();
  assert.match(await recipient.innerText(), /: 〒530-\*\*\*\* 大阪府 高\*\*\* 様$/);
  await page.getByLabel('言語').selectOption('en');
  await page.getByText('Scan each item').waitFor();
  assert.match(await recipient.innerText(), /: 高\*\*\*, 大阪府 530-\*\*\*\*, Japan$/);
  assert.doesNotMatch(await recipient.innerText(), /, ,/);
  await context.close();
});

test('every key in the English catalog has a Japanese text and vice versa', async () => {
  // The type checker enforces this too; this guards the built bundle's behaviour with the real catalogs.
  const { en, ja } = await loadCatalogs();
  assert.deepEqual(Object.keys(ja).sort(), Object.keys(en).sort());
  for (const [k, v] of Object.entries(ja)) {
    const want = [...en[k].matchAll(/\{(\w+)\}/g)].map((m) => m[1]).sort();
    const got = [...v.matchAll(/\{(\w+)\}/g)].map((m) => m[1]).sort();
    assert.deepEqual(got, want, `placeholders of ${k}`);
    assert.ok(v.trim().length > 0, k);
  }
});
