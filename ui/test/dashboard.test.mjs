import test from 'node:test';
import assert from 'node:assert/strict';
import { useBrowser, openApp, callsOf, screenshot, axeInBothLocales, scan } from './support.mjs';

const env = useBrowser(test);

// The mock's ledger (test/mock/backend.ts): newest 2026-11-28T08:30Z, one movement every 7 minutes
// by default; every tenth (i % 10 === 4) a ship of 1 + (i % 12) units; SKUs cycle TEA, CUP, SNACK.
const NOW = new Date('2026-11-28T09:00:00Z');
const NEWEST = Date.parse('2026-11-28T08:30:00Z');
const SHAPES = ['receive', 'putaway', 'reserve', 'pick', 'ship', 'move', 'count', 'adjust', 'return', 'dispose'];
const SKUS = ['TEA-GREEN-100', 'CUP-YUNOMI', 'SNACK-SENBEI'];
function ledger(n = 250, every = 7 * 60_000) {
  return Array.from({ length: n }, (_, i) => {
    const kind = SHAPES[i % 10];
    const from = ['putaway', 'reserve', 'pick', 'ship', 'move', 'adjust', 'dispose'].includes(kind) ? 'X' : null;
    return { at: NEWEST - i * every, kind, sku: SKUS[i % 3], quantity: 1 + (i % 12), from, to: from ? null : 'Y' };
  });
}
const EXTRA_STOCK = [
  { sku: 'sku-a', sellerSku: 'TEA-GREEN-100', name: '静岡煎茶 100g', location: 'A-01-01-02', lot: null, expiry: null, onHand: 120, allocated: 5, available: 115 },
  { sku: 'sku-a', sellerSku: 'TEA-GREEN-100', name: '静岡煎茶 100g', location: 'B-02-01-03', lot: null, expiry: null, onHand: 30, allocated: 0, available: 30 },
  // A prefix match of the stock filter that is another SKU: not counted.
  { sku: 'sku-a2', sellerSku: 'TEA-GREEN-1000', name: '静岡煎茶 1kg', location: 'A-01-01-03', lot: null, expiry: null, onHand: 999, allocated: 0, available: 999 },
];

async function dashboard(config = {}) {
  const r = await openApp(env.browser, env.base, { loggedIn: true, role: 'supervisor', locale: 'en', extraStock: EXTRA_STOCK, ...config });
  await r.page.clock.setFixedTime(NOW);
  await r.page.getByTestId('nav-supervisor').click();
  await r.page.getByTestId('tab-dashboard').click();
  return r;
}

const windowStart = (page) =>
  page.evaluate(() => {
    const d = new Date(Date.now());
    d.setMinutes(0, 0, 0);
    return d.getTime() - 23 * 3_600_000;
  });
const barUnits = (page) => page.locator('[data-testid=throughput-chart] rect.bar').evaluateAll((rs) => rs.map((r) => Number(r.dataset.units)));
const tableNumbers = (page, id) =>
  page.locator(`[data-testid=${id}] tbody td`).evaluateAll((tds) => tds.map((td) => Number(td.textContent.replace(/[^\d-]/g, ''))));

test('throughput: the bars add up to the ship movements of the last 24 hours, one page', async () => {
  const { page, context, problems } = await dashboard();
  await page.getByTestId('throughput-chart').waitFor();
  const since = await windowStart(page);
  const calls = await callsOf(page, 'movements');
  assert.deepEqual(calls[0].args, { sku: null, kind: 'ship', sinceMs: since, before: null, limit: 1000 });
  assert.equal(calls.length, 1, 'a short page is the end');
  const expected = ledger().filter((m) => m.kind === 'ship' && m.at >= since).reduce((s, m) => s + m.quantity, 0);
  assert.ok(expected > 0);
  const bars = await barUnits(page);
  assert.equal(bars.reduce((a, b) => a + b, 0), expected);
  const table = await tableNumbers(page, 'throughput-table');
  assert.equal(table.length, 24);
  assert.equal(table.reduce((a, b) => a + b, 0), expected);
  const label = await page.getByTestId('throughput-chart').getAttribute('aria-label');
  assert.match(label, new RegExp(`Units dispatched per hour over the last 24 hours: ${expected} in all`));
  assert.equal(await page.getByTestId('throughput-capped').count(), 0);
  await screenshot(page, 'supervisor-dashboard');
  assert.deepEqual(problems, []);
  await context.close();
});

test('throughput: paged with before until the window is covered; capped at 10 pages and says so', async () => {
  // 25,000 movements 3 s apart: 2,500 ships within the window, three pages of 1,000.
  let { page, context } = await dashboard({ movementRows: 25_000, movementEveryMs: 3_000 });
  await page.getByTestId('throughput-chart').waitFor();
  let calls = await callsOf(page, 'movements');
  assert.equal(calls.length, 3);
  // The 1,000th ship is row 9,994 (ids count down from 25,000): the next page is older than it.
  assert.deepEqual(calls.map((c) => c.args.before), [null, '0193a1b2-015006', '0193a1b2-005006']);
  const since = await windowStart(page);
  const expected = ledger(25_000, 3_000).filter((m) => m.kind === 'ship' && m.at >= since).reduce((s, m) => s + m.quantity, 0);
  assert.equal((await barUnits(page)).reduce((a, b) => a + b, 0), expected);
  assert.equal(await page.getByTestId('throughput-capped').count(), 0);
  await context.close();

  // 110,000 movements half a second apart: 11,000 ships, more than ten pages.
  ({ page, context } = await dashboard({ movementRows: 110_000, movementEveryMs: 500 }));
  await page.getByTestId('throughput-capped').getByText('Only the newest 10,000 movements were read').waitFor();
  calls = await callsOf(page, 'movements');
  assert.equal(calls.length, 10);
  assert.equal((await barUnits(page)).reduce((a, b) => a + b, 0) > 0, true);
  await context.close();
});

test('stock trend: typed or scanned SKU, steps back from the current on-hand, last point = on-hand now', async () => {
  const { page, context, problems } = await dashboard();
  await page.getByTestId('throughput-chart').waitFor();
  await page.getByLabel('SKU (type or scan)').fill('TEA-GREEN-100');
  await page.getByRole('button', { name: 'Show trend' }).click();
  const chart = page.getByTestId('trend-chart');
  await chart.waitFor();
  assert.equal(await chart.getAttribute('data-last'), '150', '120 + 30 in two bins; the 1 kg SKU is another');
  const stockCall = (await callsOf(page, 'stock')).at(-1);
  assert.equal(stockCall.args.sku, 'TEA-GREEN-100');
  const movCall = (await callsOf(page, 'movements')).at(-1);
  assert.equal(movCall.args.sku, 'TEA-GREEN-100');
  assert.equal(movCall.args.kind, null);
  // Back from 150 through the SKU's on-hand changes (receive, return +; ship, dispose −; count to +, adjust from −).
  const sign = { receive: 1, return: 1, ship: -1, dispose: -1, count: 1, adjust: -1 };
  const change = ledger()
    .filter((m) => m.sku === 'TEA-GREEN-100')
    .reduce((s, m) => s + (sign[m.kind] ?? 0) * m.quantity, 0);
  const closes = await tableNumbers(page, 'trend-table');
  assert.equal(closes.length, 30);
  assert.equal(closes.at(-1), 150);
  assert.equal(closes[0], 150 - change, 'the days before the ledger\'s movements');
  const label = await chart.getAttribute('aria-label');
  assert.match(label, /On hand of TEA-GREEN-100 over the last 30 days: .* 150 now/);
  await screenshot(page, 'supervisor-dashboard-trend');

  // A product's barcode scanned anywhere (nothing focused): its seller SKU is looked up and shown.
  await page.evaluate(() => document.activeElement?.blur());
  await scan(page, '4901234567900');
  await page.getByTestId('trend-table').getByText('On hand of CUP-YUNOMI at the end of each day').waitFor({ state: 'attached' });
  assert.equal(await page.getByLabel('SKU (type or scan)').inputValue(), 'CUP-YUNOMI');
  await page.getByTestId('trend-empty').waitFor({ state: 'detached' });
  assert.deepEqual(problems, []);
  await context.close();
});

test('dashboard: errors as catalog messages, an unknown SKU as empty, Japanese', async () => {
  let { page, context } = await dashboard({ failNext: { movements: { code: 'offline', message: 'connection refused' } } });
  await page.getByTestId('throughput-error').getByText('The server cannot be reached. The action was not done.').waitFor();
  assert.equal(await page.getByTestId('throughput-chart').count(), 0);
  await page.getByRole('button', { name: 'Refresh' }).click();
  await page.getByTestId('throughput-chart').waitFor();
  assert.equal(await page.getByTestId('throughput-error').count(), 0);
  await page.evaluate(() => window.__mock.failNext('stock', { code: 'forbidden', message: 'supervisor only' }));
  await page.getByLabel('SKU (type or scan)').fill('TEA-GREEN-100');
  await page.getByLabel('SKU (type or scan)').press('Enter');
  await page.getByTestId('trend-error').getByText('Your role may not do this.').waitFor();
  await page.getByLabel('SKU (type or scan)').fill('NO-SUCH-SKU');
  await page.getByLabel('SKU (type or scan)').press('Enter');
  await page.getByTestId('trend-empty').getByText('No stock and no movements for NO-SUCH-SKU in the last 30 days.').waitFor();
  assert.equal(await page.getByTestId('trend-chart').count(), 0, 'no flat line of zeros for a SKU with nothing');
  await context.close();

  ({ page, context } = await dashboard({ locale: 'ja' }));
  await page.getByRole('heading', { name: '時間ごとの出荷数（直近 24 時間）' }).waitFor();
  await page.getByLabel('SKU（入力またはスキャン）').fill('TEA-GREEN-100');
  await page.getByLabel('SKU（入力またはスキャン）').press('Enter');
  await page.getByTestId('trend-chart').waitFor();
  assert.match(await page.getByTestId('trend-chart').getAttribute('aria-label'), /TEA-GREEN-100 の直近 30 日の在庫数: .*現在 150/);
  await screenshot(page, 'supervisor-dashboard-ja');
  await context.close();
});

test('dashboard: keyboard only', async () => {
  const { page, context } = await openApp(env.browser, env.base, { loggedIn: true, role: 'supervisor', locale: 'en', extraStock: EXTRA_STOCK });
  await page.clock.setFixedTime(NOW);
  await page.getByTestId('nav-supervisor').focus();
  await page.keyboard.press('Enter');
  await page.getByTestId('tab-inventory').focus();
  // The tab before the last (Approvals).
  await page.keyboard.press('End');
  await page.waitForFunction(() => document.activeElement?.id === 'tab-approvals');
  await page.keyboard.press('ArrowLeft');
  await page.waitForFunction(() => document.activeElement?.id === 'tab-dashboard');
  assert.equal(await page.evaluate(() => document.activeElement?.id), 'tab-dashboard');
  await page.getByTestId('throughput-chart').waitFor();
  const tabTo = async (pred) => {
    for (let i = 0; i < 30; i++) {
      await page.keyboard.press('Tab');
      if (await page.evaluate(pred)) return;
    }
    assert.fail(`not reached by Tab: ${pred}`);
  };
  await tabTo(() => document.activeElement?.id === 'dash-sku');
  await page.keyboard.type('TEA-GREEN-100');
  await page.keyboard.press('Enter');
  await page.getByTestId('trend-chart').waitFor();
  await tabTo(() => document.activeElement?.closest('[data-testid=trend]') && document.activeElement.tagName === 'SUMMARY');
  await page.keyboard.press('Enter');
  assert.equal(await page.locator('[data-testid=trend] details').evaluate((d) => d.open), true);
  await page.getByTestId('trend-table').getByRole('cell', { name: '150' }).last().waitFor();
  await context.close();
});

test('dashboard: axe in both languages', async () => {
  const found = await axeInBothLocales(async (locale) => {
    const r = await dashboard({ locale });
    await r.page.getByTestId('throughput-chart').waitFor();
    await r.page.locator('#dash-sku').fill('TEA-GREEN-100');
    await r.page.locator('#dash-sku').press('Enter');
    await r.page.getByTestId('trend-chart').waitFor();
    await r.page.locator('details summary').first().click();
    await r.page.locator('details summary').last().click();
    return r;
  });
  assert.deepEqual(found, []);
});
