// Pure helpers behind the supervisor's dashboard charts: how a ledger movement changes a SKU's
// on-hand, the on-hand history rebuilt backwards from today's balance, hourly buckets in the
// user's time zone, "nice" axis ticks, and paging a time window out of the movements command.
// No Svelte and no IPC here (types only), so test/trend.test.mjs runs it in plain Node.
import type { MovementKind, MovementRow } from './ipc';

export type LedgerMove = Pick<MovementRow, 'at' | 'kind' | 'from' | 'to' | 'quantity'>;

/**
 * How one movement changes a SKU's on-hand summed over every location — wms-core's ledger
 * (crates/wms-core/src/ledger.rs, `deltas`): receive and return add at `to`; ship and dispose take
 * from `from`; adjust and count take their sign from the side they use (`to` found, `from`
 * written off); putaway, move and pick take from one bin and add to another (no change in total);
 * reserve and unreserve change what is reserved, never what is on hand.
 */
export function onHandDelta(m: Pick<LedgerMove, 'kind' | 'from' | 'to' | 'quantity'>): number {
  const kind: MovementKind = m.kind;
  switch (kind) {
    case 'receive':
    case 'return':
      return m.quantity;
    case 'ship':
    case 'dispose':
      return -m.quantity;
    case 'adjust':
    case 'count':
      return m.to != null ? m.quantity : -m.quantity;
    case 'putaway':
    case 'move':
    case 'pick':
    case 'reserve':
    case 'unreserve':
      return 0;
  }
  // A kind a newer server might add: counted as no change rather than guessed.
  return 0;
}

export type TrendPoint = { ms: number; onHand: number };

/**
 * The on-hand of one SKU from `fromMs` to `toMs` as steps, rebuilt backwards: `current` is the
 * balance now, so before the window it was `current` minus every change since `fromMs`. `moves`
 * must hold every movement of the SKU at or after `fromMs` (any order). The first point is at
 * `fromMs`, one point per change follows, and the last point is at `toMs` with `current`.
 */
export function stockTrend(current: number, moves: LedgerMove[], fromMs: number, toMs: number): TrendPoint[] {
  const changes = moves
    .map((m) => ({ ms: Date.parse(m.at), d: onHandDelta(m) }))
    .filter((c) => c.ms >= fromMs && c.d !== 0)
    .sort((a, b) => a.ms - b.ms);
  let onHand = current - changes.reduce((s, c) => s + c.d, 0);
  const points: TrendPoint[] = [{ ms: fromMs, onHand }];
  for (const c of changes) {
    onHand += c.d;
    points.push({ ms: Math.min(c.ms, toMs), onHand });
  }
  points.push({ ms: toMs, onHand });
  return points;
}

/** The step line's value at `ms`: the last point at or before it (the first point's before it). */
export function valueAt(points: TrendPoint[], ms: number): number {
  let v = points[0]?.onHand ?? 0;
  for (const p of points) {
    if (p.ms > ms) break;
    v = p.onHand;
  }
  return v;
}

/**
 * The starts of the last `hours` hours in the runtime's (the user's) time zone, oldest first: the
 * last is the start of the hour `nowMs` is in. One real hour apart, so a daylight-saving change
 * shows as a repeated or skipped label, never as a bucket of two hours.
 */
export function hourStarts(nowMs: number, hours = 24): number[] {
  const d = new Date(nowMs);
  d.setMinutes(0, 0, 0);
  const last = d.getTime();
  return Array.from({ length: hours }, (_, i) => last - (hours - 1 - i) * 3_600_000);
}

/** The starts of the last `days` calendar days in the user's time zone, oldest first. */
export function dayStarts(nowMs: number, days: number): number[] {
  const out: number[] = [];
  const d = new Date(nowMs);
  d.setHours(0, 0, 0, 0);
  for (let i = 0; i < days; i++) {
    out.unshift(d.getTime());
    d.setDate(d.getDate() - 1);
    d.setHours(0, 0, 0, 0);
  }
  return out;
}

/** Units per bucket: `starts` are bucket starts (ascending); the last bucket runs to `endMs`. */
export function bucketTotals(moves: Pick<LedgerMove, 'at' | 'quantity'>[], starts: number[], endMs: number): number[] {
  const totals = starts.map(() => 0);
  for (const m of moves) {
    const ms = Date.parse(m.at);
    if (!(ms >= starts[0] && ms <= endMs)) continue;
    let i = starts.length - 1;
    while (i > 0 && ms < starts[i]) i--;
    totals[i] += m.quantity;
  }
  return totals;
}

/** 0 and a few round values (1, 2 or 5 × 10ⁿ apart) up to at least `max`; [0, 1] for nothing. */
export function niceTicks(max: number, count = 4): number[] {
  if (!(max > 0)) return [0, 1];
  const raw = max / count;
  const pow = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((f) => f * pow).find((s) => s >= raw) ?? 10 * pow;
  const step1 = Math.max(1, step);
  const ticks: number[] = [];
  for (let v = 0; v < max + step1; v += step1) {
    ticks.push(v);
    if (v >= max) break;
  }
  return ticks;
}

/**
 * Pages the movements of a window, newest first, until a page is short or older than `sinceMs`
 * (the command filters by `sinceMs` itself, so a short page is the end), at most `maxPages`
 * pages. `capped`: the limit stopped it with more possibly left.
 */
export async function pageWindow<T extends { id: string }>(
  fetchPage: (before: string | null) => Promise<T[]>,
  pageSize: number,
  maxPages: number,
): Promise<{ rows: T[]; capped: boolean }> {
  const rows: T[] = [];
  let before: string | null = null;
  for (let p = 0; p < maxPages; p++) {
    const page = await fetchPage(before);
    rows.push(...page);
    if (page.length < pageSize) return { rows, capped: false };
    before = page[page.length - 1].id;
  }
  return { rows, capped: true };
}
