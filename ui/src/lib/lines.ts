// The lines of a new inbound shipment or return as typed: rows without a SKU are left out; a
// quantity that is not a whole number of at least 1 makes the whole set invalid (null), so the
// form says so instead of sending it.
import type { LineInput } from './ipc';

export function checkedLines(rows: { sku: string; quantity: number | null }[]): LineInput[] | null {
  const out: LineInput[] = [];
  for (const r of rows) {
    const sku = r.sku.trim();
    if (!sku) continue;
    const q = Number(r.quantity);
    if (r.quantity == null || !Number.isInteger(q) || q < 1) return null;
    out.push({ sku, quantity: q });
  }
  return out.length > 0 ? out : null;
}
