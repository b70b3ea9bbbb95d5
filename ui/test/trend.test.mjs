// Unit tests of src/lib/trend.ts (pure, type-only imports): transpiled with the project's own
// TypeScript and imported from a data: URL, so they run under the same `node --test` as the rest.
import test from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import ts from 'typescript';
import { uiDir } from './support.mjs';

const source = fs.readFileSync(path.join(uiDir, 'src', 'lib', 'trend.ts'), 'utf8');
const js = ts.transpileModule(source, { compilerOptions: { module: ts.ModuleKind.ES2022, target: ts.ScriptTarget.ES2022 } }).outputText;
const { onHandDelta, stockTrend, valueAt, hourStarts, dayStarts, bucketTotals, niceTicks, pageWindow } = await import(
  `data:text/javascript;base64,${Buffer.from(js).toString('base64')}`
);

const mv = (kind, quantity, from, to, at = '2026-11-28T00:00:00.000Z') => ({ kind, quantity, from, to, at });

test('on-hand changes per kind follow the ledger rules', () => {
  assert.equal(onHandDelta(mv('receive', 5, null, 'RCV')), 5);
  assert.equal(onHandDelta(mv('return', 2, null, 'RET')), 2);
  assert.equal(onHandDelta(mv('ship', 3, 'PACK', null)), -3);
  assert.equal(onHandDelta(mv('dispose', 4, 'RET', null)), -4);
  assert.equal(onHandDelta(mv('adjust', 6, null, 'A')), 6, 'adjust to a bin: found');
  assert.equal(onHandDelta(mv('adjust', 6, 'A', null)), -6, 'adjust from a bin: written off');
  assert.equal(onHandDelta(mv('count', 1, null, 'A')), 1);
  assert.equal(onHandDelta(mv('count', 1, 'A', null)), -1);
  for (const k of ['putaway', 'move', 'pick']) assert.equal(onHandDelta(mv(k, 7, 'A', 'B')), 0, k);
  for (const k of ['reserve', 'unreserve']) assert.equal(onHandDelta(mv(k, 7, 'A', null)), 0, k);
  assert.equal(onHandDelta(mv('teleport', 7, 'A', null)), 0, 'an unknown kind changes nothing');
});

test('the trend is rebuilt backwards and ends at the current on-hand', () => {
  const from = Date.parse('2026-11-01T00:00:00Z');
  const to = Date.parse('2026-11-30T00:00:00Z');
  const moves = [
    mv('ship', 3, 'P', null, '2026-11-20T00:00:00Z'),
    mv('receive', 10, null, 'R', '2026-11-05T00:00:00Z'),
    mv('move', 4, 'A', 'B', '2026-11-06T00:00:00Z'),
    mv('adjust', 2, 'A', null, '2026-11-25T00:00:00Z'),
    mv('receive', 99, null, 'R', '2026-10-01T00:00:00Z'), // before the window: ignored
  ];
  const points = stockTrend(50, moves, from, to);
  assert.deepEqual(points.map((p) => p.onHand), [45, 55, 52, 50, 50]);
  assert.equal(points[0].ms, from);
  assert.equal(points.at(-1).ms, to);
  assert.equal(points.at(-1).onHand, 50);
  assert.equal(valueAt(points, Date.parse('2026-11-10T00:00:00Z')), 55);
  assert.equal(valueAt(points, from - 1), 45);
  assert.deepEqual(stockTrend(7, [], from, to).map((p) => p.onHand), [7, 7]);
});

test('hours and days are consecutive, buckets add up to what is in the window', () => {
  const now = Date.parse('2026-11-28T09:20:00Z');
  const hours = hourStarts(now, 24);
  assert.equal(hours.length, 24);
  for (let i = 1; i < hours.length; i++) assert.equal(hours[i] - hours[i - 1], 3_600_000);
  assert.ok(hours[23] <= now && now - hours[23] < 3_600_000);
  assert.equal(new Date(hours[23]).getMinutes(), 0);
  const days = dayStarts(now, 30);
  assert.equal(days.length, 30);
  assert.equal(new Date(days[29]).getHours(), 0);
  assert.ok(days[29] <= now);
  const ships = [
    { at: new Date(hours[0]).toISOString(), quantity: 2 },
    { at: new Date(hours[0] - 1).toISOString(), quantity: 100 }, // before: not counted
    { at: new Date(hours[5] + 59 * 60_000).toISOString(), quantity: 3 },
    { at: new Date(now).toISOString(), quantity: 4 },
  ];
  const totals = bucketTotals(ships, hours, now);
  assert.equal(totals[0], 2);
  assert.equal(totals[5], 3);
  assert.equal(totals[23], 4);
  assert.equal(totals.reduce((a, b) => a + b, 0), 9);
});

test('nice ticks start at 0 and reach the maximum', () => {
  assert.deepEqual(niceTicks(0), [0, 1]);
  assert.deepEqual(niceTicks(3), [0, 1, 2, 3]);
  assert.deepEqual(niceTicks(47), [0, 20, 40, 60]);
  assert.deepEqual(niceTicks(100), [0, 50, 100]);
  for (const max of [1, 7, 13, 250, 9999]) assert.ok(niceTicks(max).at(-1) >= max, String(max));
});

test('paging stops at a short page or at the cap', async () => {
  const all = Array.from({ length: 25 }, (_, i) => ({ id: String(100 - i).padStart(4, '0') }));
  const fetch = (size) => async (before) => all.filter((r) => before == null || r.id < before).slice(0, size);
  assert.deepEqual(await pageWindow(fetch(10), 10, 5).then((r) => [r.rows.length, r.capped]), [25, false]);
  assert.deepEqual(await pageWindow(fetch(10), 10, 2).then((r) => [r.rows.length, r.capped]), [20, true]);
  assert.deepEqual(await pageWindow(fetch(5), 5, 5).then((r) => [r.rows.length, r.capped]), [25, true]);
});
