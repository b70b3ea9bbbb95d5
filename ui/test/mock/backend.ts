// TEST ONLY — a fake Tauri back end implementing docs/desktop-ipc.md over an in-memory station.
// Built by vite.mock.config.ts into test-dist/mock.js and injected with page.addInitScript before
// the production bundle loads; it is never part of `npm run build`.
import { mockIPC, mockWindows } from '@tauri-apps/api/mocks';

type Obj = Record<string, unknown>;
type Config = {
  loggedIn?: boolean;
  role?: 'packer' | 'supervisor' | 'admin';
  locale?: 'ja' | 'en';
  secretStore?: string;
  online?: boolean;
  outboxPending?: number;
  mfa?: boolean;
  stockRows?: number;
  /** How many stock movements the ledger holds (default 250: more than one page of 200). */
  movementRows?: number;
  /** How many events the audit log holds (default 450: more than two pages of 200). */
  auditEvents?: number;
  /** How many data-subject requests are recorded (default 60). */
  dataRequests?: number;
  printerConfigured?: boolean;
  /** The station's document printer (A4, packing slips); default none. A cups:// queue other than cups://office is missing. */
  documentPrinter?: string | null;
  /** cmd → AppError to reject the next call of that command with. */
  failNext?: Record<string, Obj>;
  /** The newer version update_check offers (null/absent: none). */
  update?: { version: string; notes?: string | null; installable?: boolean } | null;
  /** How many releases are published (default 3). */
  releases?: number;
  delayMs?: number;
  /** Overrides the recipient every order view carries (e.g. the server's masked form without a city). */
  recipientMasked?: Obj | null;
  /** Seller SKUs whose lot tracking the station's catalogue does not know (cached by an older build). */
  lotUnknown?: string[];
  // Dashboard: stock rows listed before the others (e.g. a SKU of the ledger's with its current
  // on-hand), and the gap between two ledger movements (default 7 minutes).
  extraStock?: Obj[];
  movementEveryMs?: number;
  /** Run as inside the app (`isTauri()` true): exports go to save_export instead of a browser download. */
  tauriShell?: boolean;
  /** The login stops at a gate: MFA enrolment, a password change, or enrolment then a password change. */
  gate?: 'enrol' | 'password' | 'both';
};

const cfg: Config = ((window as unknown as { __MOCK_CONFIG__?: Config }).__MOCK_CONFIG__ ?? {}) as Config;

class Reject {
  constructor(public err: Obj) {}
}
const fail = (code: string, message = code, detail?: Obj) => new Reject({ code, message, ...(detail ? { detail } : {}) });

const FINGERPRINT = 'AB:CD:EF:01:23:45:67:89:AB:CD:EF:01:23:45:67:89:AB:CD:EF:01:23:45:67:89:AB:CD:EF:01:23:45:67:89';
const PNG =
  'iVBORw0KGgoAAAANSUhEUgAAACAAAAAwCAAAAABVxyezAAAAKUlEQVR4nGP4DwQMQICLxilBRQV0sgavgoG2fzQcRsNhNBxGw2GQhwMASOH9H4ji7xsAAAAASUVORK5CYII=';

// Barcodes of this tenant's SKUs; only some are on the order.
const SKUS: Record<string, { sku: string; sellerSku: string; name: string; lotTracked: boolean }> = {
  '4901234567894': { sku: 'sku-a', sellerSku: 'TEA-GREEN-100', name: '静岡煎茶 100g', lotTracked: false },
  '4901234567900': { sku: 'sku-b', sellerSku: 'CUP-YUNOMI', name: '有田焼 湯呑み', lotTracked: false },
  '4901234567917': { sku: 'sku-c', sellerSku: 'SNACK-SENBEI', name: '草加せんべい', lotTracked: true },
  '4909999999999': { sku: 'sku-z', sellerSku: 'NOT-ON-ORDER', name: '別の商品', lotTracked: false },
};

type Line = { lineNo: number; sku: string; sellerSku: string; name: string; quantity: number; packed: number; barcodes: string[]; imageUrl: string | null; lotTracked: boolean };
type Pkg = { seq: number; boxType: string; weightG: number; carrier: string | null; trackingNumber: string | null; feedback: string; feedbackReason: string | null };
type Order = {
  id: string;
  externalId: string;
  codes: string[];
  status: string;
  lines: Line[];
  packages: Pkg[];
  lots: string[];
};

function line(lineNo: number, barcode: string, quantity: number, imageUrl: string | null = null): Line {
  const s = SKUS[barcode];
  return { lineNo, sku: s.sku, sellerSku: s.sellerSku, name: s.name, quantity, packed: 0, barcodes: [barcode], imageUrl, lotTracked: s.lotTracked };
}

const orders: Order[] = [
  {
    id: 'ord-1',
    externalId: '503-1234567-1234567',
    codes: ['ord-1', '503-1234567-1234567', 'PL0001'],
    status: 'allocated',
    lines: [line(1, '4901234567894', 2, `data:image/png;base64,${PNG}`), line(2, '4901234567900', 1)],
    packages: [],
    lots: [],
  },
  {
    id: 'ord-2',
    externalId: '503-7654321-7654321',
    codes: ['ord-2', '503-7654321-7654321', 'PL0002'],
    status: 'allocated',
    lines: [line(1, '4901234567917', 1)],
    packages: [],
    lots: ['LOT-2026-11'],
  },
];

const state = {
  loggedIn: cfg.loggedIn ?? false,
  role: cfg.role ?? 'packer',
  locale: cfg.locale ?? 'en',
  // Who signed in: the configured session's, then the last login's.
  tenant: 'acme',
  email: 'user@example.jp',
  online: cfg.online ?? true,
  outboxPending: cfg.outboxPending ?? 0,
  steppedUp: false,
  profile: { labelPrinter: cfg.printerConfigured === false ? null : 'tcp://127.0.0.1:9100', labelFormat: 'zpl203', documentPrinter: cfg.documentPrinter ?? null } as Obj,
  recent: [
    { orderId: 'ord-0', externalId: '503-0000000-0000001', feedback: 'confirmed', reason: null },
    { orderId: 'ord-9', externalId: '503-0000000-0000009', feedback: 'failed', reason: 'InvalidCarrier' },
  ] as Obj[],
  prints: {} as Record<string, number>,
  exceptions: [
    { kind: 'feedback_failed', orderId: 'ord-9', externalId: '503-0000000-0000009', seq: 1, detail: 'InvalidCarrier', code: null, since: '2026-11-28T09:30:00Z' },
    { kind: 'at_risk', orderId: 'ord-8', externalId: '503-0000000-0000008', seq: null, detail: 'ship by 2026-11-29', code: null, since: '2026-11-28T01:00:00Z' },
    { kind: 'outbox_conflict', orderId: 'ord-7', externalId: null, seq: null, detail: 'package: depends_on_conflict', code: 'depends_on_conflict', since: null },
  ] as Obj[],
  users: [
    { id: 'u1', email: 'admin@example.jp', role: 'admin', mfa: true, locked: false },
    { id: 'u2', email: 'packer@example.jp', role: 'packer', mfa: true, locked: false },
    { id: 'u3', email: 'sup@example.jp', role: 'supervisor', mfa: false, locked: true },
  ] as Obj[],
  devices: [
    {
      id: 'station-3f2a9c1e-0b7d-4c55-9e21-6a0d8f4b7c10', name: 'PACK-BENCH-1', firstSeen: '2026-10-01T00:30:00Z', lastSeen: '2026-11-28T09:45:00Z',
      activeSessions: 1, revoked: false, revokedAt: null, wipePending: false, wipedAt: null, current: true,
      printerProfile: { labelPrinter: 'tcp://127.0.0.1:9100', labelFormat: 'zpl203', documentPrinter: null }, updateChannel: null,
    },
    {
      id: 'station-7b1e4d2a-9c3f-4e8b-a5d6-0f2c1b3a4e5d', name: 'PACK-BENCH-2', firstSeen: '2026-10-02T01:00:00Z', lastSeen: '2026-11-27T23:10:00Z',
      activeSessions: 2, revoked: false, revokedAt: null, wipePending: false, wipedAt: null, current: false, printerProfile: null, updateChannel: null,
    },
    {
      id: 'station-lost-laptop', name: null, firstSeen: '2026-09-15T05:00:00Z', lastSeen: '2026-11-01T02:00:00Z',
      activeSessions: 0, revoked: true, revokedAt: '2026-11-02T00:00:00Z', wipePending: false, wipedAt: '2026-11-02T00:05:00Z', current: false, printerProfile: null, updateChannel: null,
    },
  ] as Obj[],
};

const PRINTER_TARGET = /^(tcp:\/\/[A-Za-z0-9.\-[\]:]+:\d{1,5}|cups:\/\/[A-Za-z0-9._@-]+)$/;

let stockCache: Obj[] | null = null;
function stockRows(): Obj[] {
  if (stockCache) return stockCache;
  const n = cfg.stockRows ?? 40;
  const rows: Obj[] = new Array(n);
  for (let i = 0; i < n; i++) {
    const m = (i % 12) + 1;
    rows[i] = {
      sku: `sku-${i}`,
      sellerSku: `SKU-${String(i).padStart(6, '0')}`,
      name: i % 3 === 0 ? `商品 ${i}` : i === 1 ? 'Tea, "special" =1' : `Product ${i}`,
      location: `A-${String(i % 50).padStart(2, '0')}-${i % 7}`,
      lot: i % 4 === 0 ? `LOT-${i}` : null,
      expiry: i % 4 === 0 ? `2027-${String(m).padStart(2, '0')}-15` : null,
      onHand: 10 + (i % 90),
      allocated: i % 5,
      available: 10 + (i % 90) - (i % 5),
    };
  }
  return (stockCache = rows);
}

// The stock ledger, newest first: ids sort like the server's (time-ordered), one every 7 minutes.
type Movement = { id: string; at: string; kind: string; sku: string; from: string | null; to: string | null; lot: string | null; quantity: number; reason: string; user: string; reference: string | null };
let movementCache: Movement[] | null = null;
function movementRows(): Movement[] {
  if (movementCache) return movementCache;
  const n = cfg.movementRows ?? 250;
  const newest = Date.parse('2026-11-28T08:30:00Z');
  const users = ['0193a1b2-7c4d-7e5f-8a9b-0c1d2e3f4a5b', '0193a1b2-7c4d-7e5f-8a9b-0c1d2e3f4a5c'];
  const skus = ['TEA-GREEN-100', 'CUP-YUNOMI', 'SNACK-SENBEI'];
  // kind, from, to, reason, reference: the sides each kind uses (see wms-core's ledger).
  const shapes: [string, string | null, string | null, string, (i: number) => string | null][] = [
    ['receive', null, 'RCV-01-01', 'receipt', (i) => `GRN-${2000 + i}`],
    ['putaway', 'RCV-01-01', 'A-01-01-02', 'putaway', () => null],
    ['reserve', 'A-01-01-02', null, 'order', (i) => `ord-${i}`],
    ['pick', 'A-01-01-02', 'PACK-01-01', 'pick', (i) => `ord-${i}`],
    ['ship', 'PACK-01-01', null, 'shipment', (i) => `ord-${i}`],
    ['move', 'A-01-01-02', 'B-02-01-03', 'replenish', () => null],
    ['count', null, 'B-02-01-03', 'count_variance', (i) => `CC-${i}`],
    ['adjust', 'B-02-01-03', null, 'damaged', () => null],
    ['return', null, 'RET-01-01', 'customer_return', (i) => `RMA-${i}`],
    ['dispose', 'RET-01-01', null, 'expired', () => null],
  ];
  const rows: Movement[] = new Array(n);
  for (let i = 0; i < n; i++) {
    const [kind, from, to, reason, reference] = shapes[i % shapes.length];
    const sku = skus[i % skus.length];
    const seq = n - i;
    rows[i] = {
      id: `0193a1b2-${String(seq).padStart(6, '0')}`,
      at: new Date(newest - i * (cfg.movementEveryMs ?? 7 * 60_000)).toISOString(),
      kind,
      sku,
      from,
      to,
      lot: sku === 'SNACK-SENBEI' ? `L2026-${String(1 + (i % 9)).padStart(2, '0')}` : null,
      quantity: 1 + (i % 12),
      reason,
      user: users[i % users.length],
      reference: reference(seq),
    };
  }
  return (movementCache = rows);
}

// Stock adjustments waiting for a second supervisor (above the threshold of 10 units) and
// decided ones; ME is the signed-in user, whose own requests the server refuses to approve.
const ME = '0193a1b2-7c4d-7e5f-8a9b-00000000a11e';
const OTHER = '0193a1b2-7c4d-7e5f-8a9b-0c1d2e3f4a5c';
const ADJUST_THRESHOLD = 10;
type Adjustment = { id: string; sku: string; location: string; lot: string | null; delta: number; reason: string; status: string; requestedBy: string; requestedAt: string; decidedBy: string | null };
const adjustments: Adjustment[] = [
  { id: 'adj-0003', sku: 'TEA-GREEN-100', location: 'A-01-01-02', lot: null, delta: -24, reason: 'damaged', status: 'pending', requestedBy: OTHER, requestedAt: '2026-11-28T07:40:00Z', decidedBy: null },
  { id: 'adj-0002', sku: 'SNACK-SENBEI', location: 'B-02-01-03', lot: 'L2026-03', delta: 15, reason: 'found', status: 'pending', requestedBy: ME, requestedAt: '2026-11-28T06:10:00Z', decidedBy: null },
  { id: 'adj-0001', sku: 'CUP-YUNOMI', location: 'A-01-01-02', lot: null, delta: -12, reason: 'lost', status: 'approved', requestedBy: OTHER, requestedAt: '2026-11-27T02:00:00Z', decidedBy: ME },
];
let adjustSeq = 3;
// Cycle counts by id; on hand at every counted place is 40.
type Count = { id: string; sku: string; location: string; lot: string | null; status: string; expected: number | null; counted: number | null; variance: number | null; createdAt: string | null };
const counts = new Map<string, Count>([
  ['cnt-0001', { id: 'cnt-0001', sku: 'CUP-YUNOMI', location: 'A-01-01-02', lot: null, status: 'counted', expected: 40, counted: 38, variance: -2, createdAt: '2026-11-27T01:00:00Z' }],
]);
let countSeq = 1;
const KNOWN_SKUS = new Set(['TEA-GREEN-100', 'CUP-YUNOMI', 'SNACK-SENBEI']);
function supervisor(): void {
  if (state.role === 'packer') throw fail('forbidden', 'supervisor only');
}
function countOf(id: unknown): Count {
  const c = counts.get(String(id));
  if (!c) throw fail('not_found', 'count task not found');
  return c;
}

// Goods in and returns: the warehouse's locations (zones and aisles too, as the server lists
// them), inbound shipments, stock received into the receiving bin (waiting for putaway, shown by
// `stock`), customer returns. The server's rules and codes, as wms-server applies them.
const LOCATIONS: Obj[] = [
  ['RCV', 'zone', 'receiving', null], ['RCV-01', 'aisle', 'receiving', 'RCV'], ['RCV-01-01', 'bin', 'receiving', 'RCV-01'],
  ['A', 'zone', 'storage', null], ['A-01', 'aisle', 'storage', 'A'], ['A-01-01-01', 'bin', 'storage', 'A-01'], ['A-01-01-02', 'bin', 'storage', 'A-01'],
  ['B-02-01-03', 'bin', 'storage', 'A-01'], ['QC-01-01', 'bin', 'quarantine', null], ['RET-01-01', 'bin', 'returns', null], ['PACK-01-01', 'bin', 'packing', null],
].map(([code, level, kind, parent]) => ({ code, level, kind, parent }));
const BY_SELLER_SKU: Record<string, { sellerSku: string; name: string; lotTracked: boolean; barcodes: string[] }> = {};
for (const [barcode, k] of Object.entries(SKUS)) BY_SELLER_SKU[k.sellerSku] = { sellerSku: k.sellerSku, name: k.name, lotTracked: k.lotTracked, barcodes: [barcode] };
function catalogueSku(code: unknown): { sellerSku: string; name: string; lotTracked: boolean | null; barcodes: string[] } | null {
  const c = String(code ?? '').trim();
  const k = SKUS[c] ? BY_SELLER_SKU[SKUS[c].sellerSku] : BY_SELLER_SKU[c];
  if (!k) return null;
  // A SKU cached by an older build does not say whether it is lot-tracked.
  return { ...k, lotTracked: (cfg.lotUnknown ?? []).includes(k.sellerSku) ? null : k.lotTracked };
}
function knownSku(sku: unknown): { sellerSku: string; lotTracked: boolean } {
  const k = BY_SELLER_SKU[String(sku)];
  if (!k) throw fail('unknown_sku', `no SKU \`${String(sku)}\``);
  return k;
}
function bin(code: unknown): Obj {
  const l = LOCATIONS.find((x) => x.code === code);
  if (!l) throw fail('unknown_location', `no location \`${String(code)}\` in warehouse TOKYO1`);
  return l;
}
type InboundLine = { lineNo: number; sku: string; expected: number; received: number };
type Inbound = { id: string; reference: string; warehouse: string; expectedOn: string | null; status: string; lines: InboundLine[]; createdAt: string | null };
const inbound: Inbound[] = [
  {
    id: 'in-0002', reference: 'ASN-2026-0042', warehouse: 'TOKYO1', expectedOn: '2026-12-01', status: 'open', createdAt: '2026-11-28T01:00:00Z',
    lines: [{ lineNo: 1, sku: 'TEA-GREEN-100', expected: 24, received: 10 }, { lineNo: 2, sku: 'SNACK-SENBEI', expected: 12, received: 0 }],
  },
  { id: 'in-0001', reference: 'ASN-2026-0041', warehouse: 'TOKYO1', expectedOn: '2026-11-20', status: 'received', createdAt: '2026-11-19T02:00:00Z', lines: [{ lineNo: 1, sku: 'CUP-YUNOMI', expected: 6, received: 6 }] },
];
let inboundSeq = 2;
// Stock received here (into the receiving bin or wherever a receipt put it) and moved on, by
// seller SKU, location and lot; `stock` lists it before the generated rows. Empty at the start, so
// the inventory's counts are the generated rows'.
const received: Obj[] = [];
function addStock(sku: string, location: string, lot: string | null, expiry: string | null, quantity: number): void {
  const row = received.find((r) => r.sellerSku === sku && r.location === location && r.lot === lot);
  if (row) {
    row.onHand = (row.onHand as number) + quantity;
    row.available = (row.available as number) + quantity;
  } else {
    received.push({ sku, sellerSku: sku, name: BY_SELLER_SKU[sku]?.name ?? sku, location, lot, expiry, onHand: quantity, allocated: 0, available: quantity });
  }
}
type ReturnRow = { id: string; orderId: string | null; status: string; reason: string; lines: { lineNo: number; sku: string; quantity: number }[]; createdAt: string | null };
const returns: ReturnRow[] = [
  { id: 'rma-0003', orderId: 'ord-1', status: 'expected', reason: 'damaged', lines: [{ lineNo: 1, sku: 'TEA-GREEN-100', quantity: 1 }], createdAt: '2026-11-28T03:00:00Z' },
  { id: 'rma-0002', orderId: null, status: 'expected', reason: 'unwanted', lines: [{ lineNo: 1, sku: 'SNACK-SENBEI', quantity: 2 }], createdAt: '2026-11-27T05:00:00Z' },
  { id: 'rma-0001', orderId: 'ord-0', status: 'restocked', reason: 'wrong_item', lines: [{ lineNo: 1, sku: 'CUP-YUNOMI', quantity: 1 }], createdAt: '2026-11-20T05:00:00Z' },
];
let returnSeq = 3;
const KNOWN_ORDERS = new Set(['ord-0', 'ord-1', 'ord-2', 'ord-9']);
function listed<T extends { status: string }>(rows: T[], status: unknown, statuses: string[]): T[] {
  if (status != null && !statuses.includes(String(status))) throw fail('validation_failed', `status must be one of ${statuses.join(', ')}`);
  return rows.filter((r) => status == null || r.status === status).map((r) => JSON.parse(JSON.stringify(r)) as T);
}
function newLines(lines: unknown, max: number): { sku: string; quantity: number }[] {
  const ls = (lines as Obj[] | undefined) ?? [];
  if (ls.length === 0) throw fail('validation_failed', 'at least one line is needed');
  return ls.map((l) => {
    knownSku(l.sku);
    const q = Number(l.quantity);
    if (!Number.isInteger(q) || q < 1 || q > max) throw fail('invalid_quantity', `quantity must be 1–${max}`);
    return { sku: String(l.sku), quantity: q };
  });
}

// The audit log: sequence numbers 1..n, newest (n) first, one event every 3 minutes.
type AuditEvent = { seq: number; at: string; actor: string; action: string; target: string | null; ip: string | null; outcome: string; detail: string | null };
let auditCache: AuditEvent[] | null = null;
function auditEvents(): AuditEvent[] {
  if (auditCache) return auditCache;
  const n = cfg.auditEvents ?? 450;
  const newest = Date.parse('2026-11-28T09:00:00Z');
  const shapes: [string, string, string | null, string | null][] = [
    ['login_ok', 'success', null, null],
    ['pii_read', 'success', 'order:ord-1', 'recipient'],
    ['login_failed', 'failure', null, 'bad password'],
    ['access_denied', 'denied', 'route:/api/v1/users', 'packer may not manage users'],
    ['label_reprinted', 'success', 'order:ord-2/1', 'jammed'],
    ['role_changed', 'success', `user:${OTHER}`, 'packer -> supervisor'],
  ];
  const rows: AuditEvent[] = new Array(n);
  for (let i = 0; i < n; i++) {
    const [action, outcome, target, detail] = shapes[i % shapes.length];
    rows[i] = { seq: n - i, at: new Date(newest - i * 3 * 60_000).toISOString(), actor: i % 2 ? `user:${OTHER}` : `user:${ME}`, action, target, ip: i % 3 ? '192.0.2.10' : null, outcome, detail };
  }
  return (auditCache = rows);
}

// Privacy: the retention settings and data-subject requests, newest first, one a day; the full
// recipient of each order (null once erased). ord-9's recipient was erased long ago.
const retention = { businessDays: 90, auditDays: 90 };
type DataRequest = { id: string; kind: string; orderId: string; requestedBy: string; reason: string; verifiedAt: string; dueBy: string; status: string; doneAt: string | null; result: string | null };
const DAY = 86_400_000;
const DR_RESULTS: Record<string, string> = {
  export: 'order, lines, packages and recipient exported',
  correct: 'recipient replaced and re-sealed',
  delete: 'recipient erased (name, address, phone, e-mail and labels)',
};
const recipients: Record<string, Obj | null> = {
  'ord-1': { name: '山田 太郎', postal_code: '100-0001', prefecture: '東京都', city: '千代田区', address1: '千代田1-1', address2: null, phone: '03-1234-5678', email: 'taro@example.jp' },
  'ord-2': { name: '佐藤 花子', postal_code: '530-0001', prefecture: '大阪府', city: '大阪市北区', address1: '梅田1-1', address2: 'ビル 3F', phone: null, email: null },
  'ord-9': null,
};
let dataRequestCache: DataRequest[] | null = null;
function dataRequests(): DataRequest[] {
  if (dataRequestCache) return dataRequestCache;
  const n = cfg.dataRequests ?? 60;
  const newest = Date.parse('2026-11-28T02:00:00Z');
  const kinds = ['export', 'correct', 'delete'];
  const rows: DataRequest[] = new Array(n);
  for (let i = 0; i < n; i++) {
    const kind = kinds[i % kinds.length];
    const at = newest - i * DAY;
    rows[i] = {
      id: `dr-${String(n - i).padStart(4, '0')}`, kind, orderId: `ord-${1000 + n - i}`, requestedBy: ME, reason: 'verified by a call-back to the number on the order',
      verifiedAt: new Date(at).toISOString(), dueBy: new Date(at + 30 * DAY).toISOString(), status: 'done', doneAt: new Date(at).toISOString(), result: DR_RESULTS[kind],
    };
  }
  return (dataRequestCache = rows);
}
let dataRequestSeq = 0;
function admin(): void {
  if (state.role !== 'admin') throw fail('forbidden', 'admin only');
}
function retentionDays(what: string, v: unknown): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 30 || n > 3650) throw fail('validation_failed', `${what} must be between 30 and 3650 days, not ${String(v)}`);
  return n;
}

// Updates and releases: the update on offer (config.update) and its install, which emits
// update-progress (download in steps, verify, install, done); the published releases, newest
// first; publishing and changing one need the step-up, as on the server, and the command's own
// checks (version, 0–100 %, https artifacts with a minisign signature) come first.
type Release = { id: string; channel: string; version: string; notes: string | null; pubDate: string | null; rolloutPercent: number; paused: boolean; artifacts: Obj[]; createdAt: string | null; createdBy: string | null; versionCheck: number };
const SIG = btoa('untrusted comment: signature from tauri secret key\nRUQ\ntrusted comment: timestamp:1\tfile:app.deb\tversion:1.3.0\nabc\n');
const releases: Release[] = [];
for (let i = (cfg.releases ?? 3) - 1; i >= 0; i--) {
  const version = `1.${i}.0`;
  releases.push({
    id: `rel-${String(i + 1).padStart(4, '0')}`, channel: 'stable', version, notes: i === 2 ? 'Faster sync' : null,
    pubDate: new Date(Date.parse('2026-11-01T01:00:00Z') + i * 7 * DAY).toISOString(), rolloutPercent: i === 2 ? 25 : 100, paused: false,
    artifacts: [{ platform: 'linux-x86_64', url: `https://dl.example.jp/jilian_${version}_amd64.deb`, signature: SIG }],
    createdAt: new Date(Date.parse('2026-11-01T01:00:00Z') + i * 7 * DAY).toISOString(), createdBy: ME, versionCheck: 1,
  });
}
let releaseSeq = releases.length;
const VERSION = /^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)(-[0-9A-Za-z.-]+)?(\+[0-9A-Za-z.-]+)?$/;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
function percentOf(v: unknown): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0 || n > 100) throw fail('validation_failed', `rolloutPercent: ${String(v)} is not 0–100`);
  return n;
}
function isMinisign(sig: string): boolean {
  try {
    const text = atob(sig);
    return text.startsWith('untrusted comment:') && text.includes('\ntrusted comment:');
  } catch {
    return false;
  }
}
async function updatesAndReleases(cmd: string, a: Obj): Promise<unknown> {
  switch (cmd) {
    case 'update_check': {
      const u = cfg.update;
      return { available: !!u, version: u?.version ?? null, notes: u?.notes ?? null, pubDate: u ? '2026-11-28T09:00:00.000Z' : null, current: '0.1.0-test', installable: u?.installable ?? true };
    }
    case 'update_install': {
      const u = cfg.update;
      if (!u) throw fail('update_unavailable', 'the server offers no newer version for this station now');
      if (u.installable === false) throw fail('update_not_installable', 'not installed from a package');
      const total = 5_000_000;
      emit('update-progress', { phase: 'download', downloaded: 0, total: null });
      for (const done of [1_000_000, 2_500_000, total]) {
        await sleep(120);
        emit('update-progress', { phase: 'download', downloaded: done, total });
      }
      await sleep(120);
      emit('update-progress', { phase: 'verify', downloaded: total, total });
      await sleep(120);
      emit('update-progress', { phase: 'install', downloaded: total, total });
      await sleep(120);
      emit('update-progress', { phase: 'done', downloaded: total, total });
      return { version: u.version, restartRequired: true };
    }
    case 'releases_list':
      admin();
      return releases.filter((r) => a.channel == null || r.channel === a.channel).map((r) => ({ ...r }));
    case 'release_publish': {
      admin();
      const version = String(a.version ?? '').trim();
      if (!VERSION.test(version)) throw fail('validation_failed', `version: "${version}" is not MAJOR.MINOR.PATCH`);
      const rolloutPercent = percentOf(a.rolloutPercent);
      const artifacts = (a.artifacts as Obj[] | undefined) ?? [];
      if (artifacts.length === 0) throw fail('validation_failed', 'artifacts: a release needs at least one');
      artifacts.forEach((x, i) => {
        if (!/^https:\/\//.test(String(x.url))) throw fail('validation_failed', `artifacts[${i}].url: not an https URL`);
        if (!isMinisign(String(x.signature))) throw fail('validation_failed', `artifacts[${i}].signature: not a minisign signature`);
      });
      if (!state.steppedUp) throw fail('step_up_required', 'step-up required');
      const channel = a.channel == null ? 'stable' : String(a.channel);
      if (releases.some((r) => r.version === version && r.channel === channel)) throw fail('release_version_exists', `version ${version} is already published on channel ${channel}`);
      const now = '2026-11-28T10:00:00.000Z';
      const r: Release = {
        id: `rel-${String(++releaseSeq).padStart(4, '0')}`, channel, version, notes: (a.notes as string | null) ?? null, pubDate: now,
        rolloutPercent, paused: false, artifacts: artifacts.map((x) => ({ ...x })), createdAt: now, createdBy: ME, versionCheck: 1,
      };
      releases.unshift(r);
      return { ...r };
    }
    case 'release_set': {
      admin();
      const r = releases.find((x) => x.id === a.id);
      if (a.rolloutPercent == null && a.paused == null) throw fail('validation_failed', 'nothing to change: rolloutPercent or paused');
      const rolloutPercent = a.rolloutPercent == null ? null : percentOf(a.rolloutPercent);
      if (!state.steppedUp) throw fail('step_up_required', 'step-up required');
      if (!r) throw fail('not_found', `no release ${String(a.id)}`);
      if (a.versionCheck != null && a.versionCheck !== r.versionCheck) throw fail('version_conflict', 'the release changed meanwhile; reload and retry');
      if (rolloutPercent !== null) r.rolloutPercent = rolloutPercent;
      if (a.paused != null) r.paused = Boolean(a.paused);
      r.versionCheck++;
      return { ...r };
    }
    case 'save_export':
      return saveExport(a);
    default:
      throw fail('internal', `mock: unknown command ${cmd}`);
  }
}

// save_export: the names already in the fake Downloads directory.
const savedExports = new Set<string>();
function saveExport(a: Obj): Obj {
  const name = String(a.name ?? '');
  if (!/^[^/\\:*?"<>|\u0000-\u001f.][^/\\:*?"<>|\u0000-\u001f]{0,115}\.csv$/i.test(name)) throw fail('validation_failed', 'name: a plain .csv file name is required');
  const text = String(a.text ?? '');
  let file = name;
  for (let n = 2; savedExports.has(file); n++) file = `${name.slice(0, -4)} (${n})${name.slice(-4)}`;
  savedExports.add(file);
  return { path: `/home/packer/Downloads/${file}`, bytes: new TextEncoder().encode(text).length };
}

const calls: { cmd: string; args: Obj }[] = [];

function info(): Obj {
  return {
    version: '0.1.0-test',
    loggedIn: state.loggedIn,
    server: state.loggedIn ? 'https://wms.example.jp' : null,
    tenant: state.loggedIn ? state.tenant : null,
    email: state.loggedIn ? state.email : null,
    role: state.loggedIn ? state.role : null,
    secretStore: cfg.secretStore ?? 'keyring',
    secretStoreDescription: cfg.secretStore === 'file' ? 'key-file fallback (mode 0600 under --data; no OS keyring)' : 'GNOME Keyring via D-Bus',
    locale: state.locale,
  };
}

function status(): Obj {
  return {
    online: state.online,
    loggedIn: state.loggedIn,
    server: 'https://wms.example.jp',
    tenant: state.tenant,
    secretStore: cfg.secretStore ?? 'keyring',
    secretStoreDescription: 'GNOME Keyring via D-Bus',
    outboxPending: state.outboxPending,
    outboxConflicts: 0,
    cachedOrders: orders.length,
    cachedSkus: Object.keys(SKUS).length,
    cacheBytes: 12345,
    lastSync: '2026-11-28T08:00:00Z',
    printer: state.profile.labelPrinter ? { target: state.profile.labelPrinter, state: 'ready', message: null } : null,
    recent: state.recent,
  };
}

function view(o: Order): Obj {
  return {
    id: o.id,
    externalId: o.externalId,
    channel: 'amazon_jp',
    warehouse: 'TOKYO-1',
    status: o.status,
    lines: o.lines.map((l) => ({ ...l })),
    packages: o.packages.map((p) => ({ ...p })),
    shipBy: '2026-11-30T15:00:00Z',
    recipientMasked: cfg.recipientMasked !== undefined ? cfg.recipientMasked : { name: '山田 太郎', prefecture: '東京都', city: '千代田区', postalCode: '100-0001' },
    complete: o.lines.every((l) => l.packed >= l.quantity),
  };
}

function emit(event: string, payload: unknown): void {
  const internals = (window as unknown as { __TAURI_INTERNALS__: { invoke: (c: string, a: Obj) => Promise<unknown> } }).__TAURI_INTERNALS__;
  void internals.invoke('plugin:event|emit', { event, payload });
}

function find(id: unknown): Order {
  const o = orders.find((x) => x.id === id);
  if (!o) throw fail('order_not_found', `no order ${String(id)}`);
  return o;
}

// Packing slips, in wms-client's order: the printer (named, else the document printer) and its
// queue are checked before the server is asked for the slip (offline: slip_unavailable_offline).
const CUPS_QUEUES = ['cups://office'];
function packingSlip(a: Obj): Obj {
  const o = find(a.orderId);
  const printer = (a.printer as string | null) ?? (state.profile.documentPrinter as string | null);
  if (!printer) throw fail('printer_not_configured', 'no document printer is chosen for this station');
  if (printer.startsWith('tcp://')) throw fail('pdf_needs_spooler', `${printer} is a label printer's raw port`);
  if (!CUPS_QUEUES.includes(printer)) throw fail('queue_missing', `queue missing: CUPS has no queue \`${printer.slice(7)}\``);
  if (!state.online) throw fail('slip_unavailable_offline', `the packing slip of order ${o.id} is made by the server`);
  return { orderId: o.id, printer, bytes: 48213, sha256: 'cd'.repeat(32) };
}

// A scan or package: offline it is recorded in the outbox (wms-client's record_scan / record_package).
function packed(o: Order): Obj {
  if (!state.online) {
    state.outboxPending++;
    emit('station://status', status());
  }
  return { ...view(o), recordedOffline: !state.online };
}

// A pre-printed label's carrier and number, checked as wms-core's check_package does (both or
// neither; 12 digits, the last the first 11 mod 7).
function preprintedLabel(carrier: unknown, tracking: unknown): { carrier: string | null; trackingNumber: string | null } {
  if (carrier == null && tracking == null) return { carrier: null, trackingNumber: null };
  if (carrier == null || tracking == null) throw fail('validation_failed', 'give both carrier and tracking_number, or neither');
  if (carrier !== 'yamato' && carrier !== 'sagawa') throw fail('unknown_carrier', `unknown carrier ${String(carrier)}`);
  const digits = String(tracking).replace(/[\s-]/g, '');
  if (!/^\d*$/.test(digits)) throw fail('tracking_invalid_character', 'only digits');
  if (digits.length !== 12) throw fail('tracking_wrong_length', `a tracking number has 12 digits, this one has ${digits.length}`);
  if (Number(digits[11]) > 6) throw fail('tracking_impossible_check_digit', 'impossible check digit');
  if (Number(digits.slice(0, 11)) % 7 !== Number(digits[11])) throw fail('tracking_check_digit_mismatch', 'check digit mismatch');
  return { carrier, trackingNumber: digits };
}

// Admin → Connections: two Amazon seller authorizations (one active with two failed
// confirmations, one revoked) and a Yamato API account. Connecting, revoking and purging need the
// step-up, as on the server; the server's checks come first (seller id letters and digits, the
// secrets given, a self-issue range first ≤ last of up to 11 digits, one account per carrier,
// `already_revoked`, `authorization_active` before a purge). Secrets are checked, never stored.
const connections = {
  auths: [
    {
      id: 'az-1', sellingPartnerId: 'A3EXAMPLE0SELLER', marketplaces: ['A1VC38T7YXB528'], lwaClientId: 'amzn1.application-oa2-client.demo', warehouseId: 'wh-1',
      piiRecipient: 'granted', piiBuyerEmail: 'not_granted', status: 'active', revokedReason: null, revokedAt: null, piiPurgedAt: null,
      syncedUntil: '2026-11-28T08:55:00Z', lastSyncAt: '2026-11-28T09:00:00Z', lastSyncError: null,
      feedback: { pending: 1, sent: 0, confirmed: 41, failed: 2, handled: 0 }, createdAt: '2026-10-01T00:00:00Z',
    },
    {
      id: 'az-2', sellingPartnerId: 'A2OLDSELLER', marketplaces: ['A1VC38T7YXB528'], lwaClientId: 'amzn1.application-oa2-client.demo', warehouseId: 'wh-1',
      piiRecipient: 'granted', piiBuyerEmail: 'not_granted', status: 'revoked', revokedReason: 'seller left', revokedAt: '2026-11-01T00:00:00Z', piiPurgedAt: null,
      syncedUntil: null, lastSyncAt: null, lastSyncError: null,
      feedback: { pending: 0, sent: 0, confirmed: 3, failed: 0, handled: 0 }, createdAt: '2026-06-01T00:00:00Z',
    },
  ] as Obj[],
  accounts: [
    {
      carrier: 'yamato', mode: 'api', baseUrl: 'https://yamato.sandbox.example', customerCode: '0312345678', rangeUsed: null, rangeTotal: null, rangeWarning: false,
      sender: { name: 'ジリアン物流 東京第一倉庫', postalCode: '135-0061', addressLines: ['東京都江東区豊洲3-3-3'], phone: '03-1234-5678' }, createdAt: '2026-10-01T00:00:00Z',
      label: null, enabled: true, disabledAt: null, updatedAt: '2026-10-01T00:00:00Z',
    },
  ] as Obj[],
  seq: 0,
  // Carriers labels were booked with: their accounts cannot be removed (carrier_account_in_use).
  bookedWith: new Set(['yamato']),
  // The shipment-feedback queue, newest first (ord-9 is also the Exceptions screen's failure).
  feedback: [
    { orderId: 'ord-9', externalId: '503-0000000-0000009', packageSeq: 1, trackingNumber: '123456789012', status: 'failed', reason: 'InvalidCarrier', attempts: 5, lastError: 'InvalidCarrier', updatedAt: '2026-11-28T09:30:00Z' },
    { orderId: 'ord-8', externalId: '503-0000000-0000008', packageSeq: 2, trackingNumber: '234567890125', status: 'failed', reason: 'InvalidTrackingNumber', attempts: 5, lastError: null, updatedAt: '2026-11-28T09:20:00Z' },
    { orderId: 'ord-7', externalId: '503-0000000-0000007', packageSeq: 1, trackingNumber: '345678901231', status: 'pending', reason: null, attempts: 0, lastError: null, updatedAt: '2026-11-28T09:10:00Z' },
    { orderId: 'ord-0', externalId: '503-0000000-0000001', packageSeq: 1, trackingNumber: '456789012344', status: 'confirmed', reason: null, attempts: 1, lastError: null, updatedAt: '2026-11-28T09:00:00Z' },
  ] as Obj[],
};
const FEEDBACK_STATES = ['pending', 'sent', 'confirmed', 'failed', 'handled'];
function carrierAccount(carrier: unknown): Obj {
  const found = connections.accounts.find((x) => x.carrier === carrier);
  if (!found) throw fail('not_found', 'carrier account not found');
  return found;
}
/** A failed confirmation moved on (retry → pending, handled), as the server's state machine. */
function feedbackAct(orderId: unknown, seq: unknown, to: 'pending' | 'handled'): void {
  const row = connections.feedback.find((f) => f.orderId === orderId && f.packageSeq === seq);
  if (!row) throw fail('not_found', 'shipment feedback not found');
  if (row.status !== 'failed') throw fail('feedback_illegal_transition', `a ${String(row.status)} confirmation cannot be ${to === 'pending' ? 'retried' : 'marked handled'}`);
  Object.assign(row, { status: to, reason: null, attempts: 0, updatedAt: '2026-11-28T10:00:00Z' });
}
const CONNECTION_CMDS = ['amazon_authorizations', 'amazon_connect', 'amazon_revoke', 'amazon_purge_pii', 'amazon_sync', 'amazon_feedback', 'carrier_accounts', 'carrier_connect', 'carrier_update', 'carrier_remove', 'feedback_handled'];
function authorization(id: unknown): Obj {
  const found = connections.auths.find((x) => x.id === id);
  if (!found) throw fail('not_found', 'amazon authorization not found');
  return found;
}
function connectionCommand(cmd: string, a: Obj): unknown {
  const input = (a.input ?? {}) as Obj;
  switch (cmd) {
    case 'amazon_authorizations':
      admin();
      return connections.auths;
    case 'amazon_connect': {
      admin();
      const spid = String(input.sellingPartnerId ?? '').trim();
      if (!/^[A-Za-z0-9]{1,32}$/.test(spid)) throw fail('validation_failed', 'selling_partner_id must be 1–32 letters and digits');
      if (!String(input.lwaClientSecret ?? '').trim()) throw fail('validation_failed', 'lwa_client_secret is required');
      if (!String(input.refreshToken ?? '').trim()) throw fail('validation_failed', 'refresh_token is required');
      if (!state.steppedUp) throw fail('step_up_required', 'step-up required');
      const mk = (input.marketplaces as string[] | undefined)?.length ? (input.marketplaces as string[]) : ['A1VC38T7YXB528'];
      const row: Obj = {
        id: `az-new-${++connections.seq}`, sellingPartnerId: spid, marketplaces: mk, lwaClientId: String(input.lwaClientId), warehouseId: 'wh-1',
        piiRecipient: input.piiRecipient ? 'granted' : 'not_granted', piiBuyerEmail: input.piiBuyerEmail ? 'granted' : 'not_granted', status: 'active',
        revokedReason: null, revokedAt: null, piiPurgedAt: null, syncedUntil: null, lastSyncAt: null, lastSyncError: null,
        feedback: { pending: 0, sent: 0, confirmed: 0, failed: 0, handled: 0 }, createdAt: '2026-11-28T10:00:00Z',
      };
      connections.auths.push(row);
      return row;
    }
    case 'amazon_revoke': {
      admin();
      const row = authorization(a.id);
      if (!state.steppedUp) throw fail('step_up_required', 'step-up required');
      if (row.status === 'revoked') throw fail('already_revoked', 'this authorization is already revoked');
      Object.assign(row, { status: 'revoked', revokedReason: (a.reason as string | null) ?? 'revoked by an admin', revokedAt: '2026-11-28T10:00:00Z' });
      return row;
    }
    case 'amazon_purge_pii': {
      admin();
      const row = authorization(a.id);
      if (!state.steppedUp) throw fail('step_up_required', 'step-up required');
      if (row.status !== 'revoked') throw fail('authorization_active', 'revoke the authorization first');
      row.piiPurgedAt = '2026-11-28T10:00:00Z';
      return { ordersPurged: 3 };
    }
    case 'amazon_sync': {
      const row = authorization(a.id);
      if (row.status === 'revoked') throw fail('authorization_revoked', 'this authorization is revoked');
      row.lastSyncAt = '2026-11-28T10:00:00Z';
      return { seen: 5, created: 2, cancelled: 0, flagged: 0, problems: 0, syncedUntil: '2026-11-28T09:55:00Z' };
    }
    case 'amazon_feedback': {
      if (a.status != null && !FEEDBACK_STATES.includes(String(a.status))) throw fail('validation_failed', `status must be pending, sent, confirmed, failed or handled, not \`${String(a.status)}\``);
      const limit = a.limit == null ? 100 : Number(a.limit);
      return connections.feedback.filter((f) => a.status == null || f.status === a.status).slice(0, limit);
    }
    case 'feedback_handled':
      supervisor();
      feedbackAct(a.orderId, a.seq, 'handled');
      return null;
    case 'carrier_update': {
      admin();
      const row = carrierAccount(a.carrier);
      const keys = ['label', 'baseUrl', 'customerCode', 'apiKey', 'sender', 'enabled'].filter((k) => input[k] != null && (k === 'label' || k === 'enabled' || k === 'sender' || String(input[k]).trim() !== ''));
      if (keys.length === 0) throw fail('validation_failed', 'nothing to change: give label, base_url, customer_code, api_key, sender or enabled');
      const label = input.label == null ? row.label : String(input.label).trim() || null;
      if (label !== null && String(label).length > 80) throw fail('validation_failed', 'label has at most 80 characters and no control characters');
      if (row.mode !== 'api' && keys.some((k) => ['baseUrl', 'customerCode', 'apiKey'].includes(k))) throw fail('carrier_not_api', 'this carrier account issues numbers locally');
      if (input.baseUrl != null && String(input.baseUrl).trim() && !String(input.baseUrl).trim().startsWith('https://')) throw fail('validation_failed', 'base_url must be https');
      const sender = input.sender as Obj | null | undefined;
      if (sender && (!String(sender.name ?? '').trim() || !(sender.addressLines as string[] | undefined)?.length)) throw fail('validation_failed', 'sender needs a name and an address');
      if (!state.steppedUp) throw fail('step_up_required', 'step-up required');
      row.label = label;
      if (input.baseUrl) row.baseUrl = String(input.baseUrl).trim();
      if (input.customerCode) row.customerCode = String(input.customerCode).trim();
      if (sender) row.sender = { name: sender.name, postalCode: sender.postalCode, addressLines: sender.addressLines, phone: sender.phone };
      if (input.enabled === false && row.enabled) Object.assign(row, { enabled: false, disabledAt: '2026-11-28T10:00:00Z' });
      if (input.enabled === true) Object.assign(row, { enabled: true, disabledAt: null });
      row.updatedAt = '2026-11-28T10:00:00Z';
      return row;
    }
    case 'carrier_remove': {
      admin();
      const row = carrierAccount(a.carrier);
      if (!state.steppedUp) throw fail('step_up_required', 'step-up required');
      if (connections.bookedWith.has(String(row.carrier))) throw fail('carrier_account_in_use', `labels were booked with the ${String(row.carrier)} account: disable it instead`);
      connections.accounts = connections.accounts.filter((x) => x !== row);
      return null;
    }
    case 'carrier_accounts':
      return connections.accounts;
    case 'carrier_connect': {
      admin();
      const carrier = String(input.carrier);
      if (carrier !== 'yamato' && carrier !== 'sagawa') throw fail('unknown_carrier', `unknown carrier ${carrier}`);
      const sender = (input.sender ?? {}) as Obj;
      if (!String(sender.name ?? '').trim() || !(sender.addressLines as string[] | undefined)?.length) throw fail('validation_failed', 'sender needs a name and an address');
      let range: { first: number; last: number } | null = null;
      if (input.mode === 'api') {
        if (!String(input.baseUrl ?? '').startsWith('https://')) throw fail('validation_failed', 'base_url must be https');
        if (!input.customerCode || !input.apiKey) throw fail('validation_failed', 'customer_code and api_key are required');
      } else if (input.mode === 'self_issue') {
        const first = Number(input.rangeFirst);
        const last = Number(input.rangeLast);
        if (input.rangeFirst == null || input.rangeLast == null) throw fail('validation_failed', 'self_issue mode needs range_first and range_last');
        if (!(first <= last) || last > 99_999_999_999) throw fail('invalid_range', `range ${first}–${last} is empty or too long`);
        range = { first, last };
      } else throw fail('validation_failed', `mode must be api or self_issue, not \`${String(input.mode)}\``);
      if (!state.steppedUp) throw fail('step_up_required', 'step-up required');
      if (connections.accounts.some((x) => x.carrier === carrier)) throw fail('conflict', `a ${carrier} account is already connected`);
      const row: Obj = {
        carrier, mode: input.mode, baseUrl: input.mode === 'api' ? input.baseUrl : null, customerCode: input.mode === 'api' ? input.customerCode : null,
        rangeUsed: range ? 0 : null, rangeTotal: range ? range.last - range.first + 1 : null, rangeWarning: false,
        sender: { name: sender.name, postalCode: sender.postalCode, addressLines: sender.addressLines, phone: sender.phone }, createdAt: '2026-11-28T10:00:00Z',
        label: input.label ?? null, enabled: true, disabledAt: null, updatedAt: '2026-11-28T10:00:00Z',
      };
      connections.accounts.push(row);
      return row;
    }
  }
  throw fail('internal', `unknown command ${cmd}`);
}

// The login's gates (docs/desktop-ipc.md): the confirming code is 123456, the next one 654321; the
// current password is `secret`, a new one needs 12 characters.
const GATE_CMDS = ['login_enrol_start', 'login_enrol_confirm', 'login_enrol_sign_in', 'login_change_password', 'login_gate_cancel'];
const gates: { at: 'enrol' | 'next' | 'password' | null; started: boolean } = { at: null, started: false };
const QR_SVG = '<svg xmlns="http://www.w3.org/2000/svg" width="200" height="200" viewBox="0 0 4 4"><rect width="4" height="4" fill="#fff"/><rect width="2" height="2" fill="#000"/></svg>';
function gateCommand(cmd: string, a: Obj): unknown {
  if (cmd === 'login_gate_cancel') {
    gates.at = null;
    return null;
  }
  const expect = (at: typeof gates.at) => {
    if (gates.at === null) throw fail('login_expired', 'no sign-in is waiting for this step');
    if (gates.at !== at) throw fail('wrong_login_gate', `at ${gates.at}, not ${at}`);
  };
  const signedIn = () => {
    gates.at = null;
    state.loggedIn = true;
    return info();
  };
  switch (cmd) {
    case 'login_enrol_start':
      expect('enrol');
      gates.started = true;
      return {
        secret: 'JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP',
        otpauthUri: 'otpauth://totp/Jilian%20WMS:sup%40example.jp?secret=JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP&issuer=Jilian%20WMS',
        qrDataUri: `data:image/svg+xml;base64,${btoa(QR_SVG)}`,
      };
    case 'login_enrol_confirm':
      expect('enrol');
      if (!gates.started) throw fail('conflict', 'no MFA enrolment in progress');
      if (a.code !== '123456') throw fail('mfa_invalid', 'TOTP invalid');
      gates.at = 'next';
      return null;
    case 'login_enrol_sign_in':
      expect('next');
      if (a.code === '123456') throw fail('mfa_replayed', 'TOTP replayed');
      if (a.code !== '654321') throw fail('mfa_invalid', 'TOTP invalid');
      if (cfg.gate === 'both') {
        gates.at = 'password';
        throw fail('password_change_required', 'password change required');
      }
      return signedIn();
    case 'login_change_password':
      expect('password');
      if (!a.current || !a.new) throw fail('password_required', 'enter the current and the new password');
      if (a.new !== a.repeat) throw fail('password_mismatch', 'the new password and its repetition differ');
      if (a.current !== 'secret') throw fail('invalid_credentials', 'invalid credentials');
      if (String(a.new).length < 12) throw fail('weak_password', 'password must be at least 12 characters');
      return signedIn();
  }
  throw fail('internal', `unknown command ${cmd}`);
}

async function handle(cmd: string, a: Obj): Promise<unknown> {
  const forced = cfg.failNext?.[cmd];
  if (forced) {
    delete cfg.failNext![cmd];
    throw new Reject(forced);
  }
  if (CONNECTION_CMDS.includes(cmd)) return connectionCommand(cmd, a);
  if (GATE_CMDS.includes(cmd)) return gateCommand(cmd, a);
  const needLogin = () => {
    if (!state.loggedIn) throw fail('not_logged_in', 'no session');
  };
  switch (cmd) {
    case 'app_info':
      return info();
    case 'set_locale':
      state.locale = a.locale as 'ja' | 'en';
      return null;
    case 'probe_server': {
      const server = String(a.server);
      if (server.includes('unreachable')) throw fail('offline', 'connection refused');
      return { server, fingerprint: FINGERPRINT, subject: 'CN=wms.example.jp' };
    }
    case 'login': {
      if (a.fingerprint !== FINGERPRINT) throw fail('tls_pin_mismatch', 'pin mismatch');
      if (a.password !== 'secret') throw fail('invalid_credentials', 'invalid credentials');
      if (cfg.mfa) {
        if (a.totp == null) throw fail('mfa_required', 'TOTP required');
        if (a.totp !== '123456') throw fail('mfa_invalid', 'TOTP invalid');
      }
      if (cfg.gate) {
        gates.at = cfg.gate === 'password' ? 'password' : 'enrol';
        gates.started = false;
        throw fail(gates.at === 'enrol' ? 'mfa_enrollment_required' : 'password_change_required', 'a gate before the session');
      }
      state.loggedIn = true;
      state.tenant = String(a.tenant);
      state.email = String(a.email);
      return info();
    }
    case 'logout':
      if (state.outboxPending > 0 && !a.force) throw fail('outbox_not_empty', `${state.outboxPending} queued actions`);
      state.loggedIn = false;
      return { revokedOnServer: true, outboxDiscarded: a.force ? state.outboxPending : 0 };
    case 'status':
      needLogin();
      return status();
    case 'sync': {
      needLogin();
      const phases = ['orders', 'skus', 'changes'];
      for (const [i, phase] of phases.entries()) {
        emit('sync://progress', { phase, done: i * 10, total: 30 });
        await new Promise((r) => setTimeout(r, 150));
      }
      emit('sync://progress', { phase: 'done', done: 30, total: 30 });
      return { mode: 'delta', orders: 2, skus: 4, removed: 0, ms: 450 };
    }
    case 'open_order': {
      needLogin();
      const o = orders.find((x) => x.codes.includes(String(a.code)));
      if (!o) throw fail('order_not_found', `no order for ${String(a.code)}`);
      return view(o);
    }
    case 'scan_item': {
      const o = find(a.orderId);
      const barcode = String(a.barcode);
      const sku = SKUS[barcode];
      if (!sku) throw fail('unknown_barcode', `unknown barcode ${barcode}`);
      const l = o.lines.find((x) => x.barcodes.includes(barcode));
      if (!l) throw fail('wrong_item', `${sku.sellerSku} is not on this order`);
      if (l.packed >= l.quantity) throw fail('over_quantity', `line ${l.lineNo} is complete`);
      if (l.lotTracked) {
        // Offline (wms-client's record_scan) a scan without its lot is recorded, and a lot cannot
        // be checked: the cached order does not carry its allocated lots.
        if (!state.online) {
          if (a.lot != null) throw fail('lot_unverifiable_offline', `whether lot ${String(a.lot)} was allocated cannot be checked offline`);
        } else {
          if (a.lot == null) throw fail('lot_required', `${sku.sellerSku} needs a lot`);
          if (!o.lots.includes(String(a.lot))) throw fail('unknown_batch', `lot ${String(a.lot)} not allocated`);
        }
      }
      l.packed++;
      return packed(o);
    }
    case 'add_package': {
      const o = find(a.orderId);
      if (!o.lines.every((l) => l.packed >= l.quantity)) throw fail('not_packed', 'not every line is packed');
      if (typeof a.weightG !== 'number' || a.weightG <= 0) throw fail('validation_failed', 'weightG must be > 0');
      const label = preprintedLabel(a.carrier, a.trackingNumber);
      o.packages.push({ seq: o.packages.length + 1, boxType: String(a.boxType), weightG: a.weightG, ...label, feedback: 'not_required', feedbackReason: null });
      o.status = 'packed';
      return packed(o);
    }
    case 'book_label': {
      if (!state.online) throw fail('label_unavailable_offline', 'a label can only be booked through the server');
      const o = find(a.orderId);
      const p = o.packages.find((x) => x.seq === a.seq);
      if (!p) throw fail('bad_request', 'no such package');
      if (a.carrier !== 'yamato' && a.carrier !== 'sagawa') throw fail('validation_failed', 'carrier');
      p.carrier = a.carrier;
      // Package 1 keeps the numbers the tests know; further packages get their own (2…: the seq first).
      const n = a.carrier === 'yamato' ? '123456789012' : '987654321098';
      p.trackingNumber = p.seq === 1 ? n : `${p.seq}${n.slice(1)}`;
      return view(o);
    }
    case 'label_preview':
      return { png: PNG };
    case 'print_label': {
      const o = find(a.orderId);
      const p = o.packages.find((x) => x.seq === a.seq);
      if (!p?.trackingNumber) throw fail('label_not_booked', 'no label');
      if (!state.online) throw fail('label_unavailable_offline', 'a label is only printed from the server');
      if (!state.profile.labelPrinter) throw fail('printer_not_configured', 'no printer');
      const k = `${o.id}/${p.seq}`;
      state.prints[k] = (state.prints[k] ?? 0) + 1;
      return { orderId: o.id, packageSeq: p.seq, printer: String(state.profile.labelPrinter), bytes: 1234, sha256: 'ab'.repeat(32), source: 'server', prints: state.prints[k] };
    }
    case 'void_label': {
      const o = find(a.orderId);
      const p = o.packages.find((x) => x.seq === a.seq);
      if (!p) throw fail('bad_request', 'no such package');
      p.trackingNumber = null;
      p.carrier = null;
      return view(o);
    }
    case 'dispatch': {
      const o = find(a.orderId);
      const tracking = o.packages.map((p) => p.trackingNumber).filter(Boolean);
      if (tracking.length === 0) throw fail('not_packed', 'not packed');
      // The shell's labels_verified: each scan one of this order's labels, every package scanned.
      const digits = (x: unknown) => String(x ?? '').replace(/\D/g, '');
      const scans = [...((a.labelScans as unknown[] | null) ?? []), a.labelScan].map(digits);
      const seqOf = (d: string) => o.packages.find((p) => d !== '' && digits(p.trackingNumber) === d)?.seq;
      if (scans.some((d) => seqOf(d) === undefined)) throw fail('label_mismatch', `label ${String(a.labelScan)} is not this order's`);
      const missing = o.packages.filter((p) => !scans.some((d) => seqOf(d) === p.seq)).map((p) => p.seq);
      if (missing.length > 0) throw fail('labels_unverified', 'not every label scanned', { packages: missing });
      o.status = 'shipped';
      state.recent = [{ orderId: o.id, externalId: o.externalId, feedback: 'pending', reason: null }, ...state.recent];
      if (!state.online) state.outboxPending++;
      emit('station://status', status());
      return { orderId: o.id, shipTime: '2026-11-28T10:15:00Z', queued: !state.online };
    }
    case 'printers':
      return {
        printers: [
          { name: 'Zebra ZD421', target: 'tcp://127.0.0.1:9100', kind: 'tcp' },
          { name: 'Office laser', target: 'cups://office', kind: 'cups' },
        ],
        profile: state.profile,
      };
    case 'set_printer_profile':
      state.profile = a.profile as Obj;
      return state.profile;
    case 'print_packing_slip':
      return packingSlip(a);
    case 'test_print':
      if (!state.profile.labelPrinter) throw fail('printer_not_configured', 'no printer');
      return { printer: state.profile.labelPrinter, bytes: 321 };
    case 'stock': {
      let rows = [...(cfg.extraStock ?? []).map((r) => ({ ...r })), ...received.map((r) => ({ ...r })), ...stockRows()];
      if (a.sku) rows = rows.filter((r) => String(r.sellerSku).includes(String(a.sku)));
      if (a.location) rows = rows.filter((r) => String(r.location).startsWith(String(a.location)));
      if (a.lot) rows = rows.filter((r) => r.lot === a.lot);
      if (a.expiringBefore) rows = rows.filter((r) => r.expiry !== null && String(r.expiry) <= String(a.expiringBefore));
      if (a.lowStock) rows = rows.filter((r) => (r.available as number) <= 12);
      return rows;
    }
    case 'movements': {
      if (state.role === 'packer') throw fail('forbidden', 'supervisor only');
      const limit = a.limit == null ? 200 : Number(a.limit);
      if (!(limit >= 1 && limit <= 1000)) throw fail('validation_failed', 'limit must be between 1 and 1000');
      let rows = movementRows();
      if (a.sku) rows = rows.filter((r) => r.sku === a.sku);
      if (a.kind) rows = rows.filter((r) => r.kind === a.kind);
      if (a.sinceMs != null) rows = rows.filter((r) => Date.parse(r.at) >= Number(a.sinceMs));
      if (a.before) rows = rows.filter((r) => r.id < String(a.before));
      return rows.slice(0, limit);
    }
    case 'exceptions':
      return state.exceptions;
    case 'feedback_retry':
      if (connections.feedback.some((f) => f.orderId === a.orderId && f.packageSeq === a.seq)) feedbackAct(a.orderId, a.seq, 'pending');
      state.exceptions = state.exceptions.filter((e) => !(e.orderId === a.orderId && e.kind === 'feedback_failed'));
      return null;
    case 'users':
      if (state.role !== 'admin') throw fail('forbidden', 'admin only');
      return state.users;
    case 'step_up':
      if (a.totp !== '123456') throw fail('mfa_invalid', 'TOTP invalid');
      state.steppedUp = true;
      return null;
    case 'mfa_reset': {
      if (!state.steppedUp) throw fail('step_up_required', 'step-up required');
      const u = state.users.find((x) => x.id === a.userId);
      if (u) u.mfa = false;
      return null;
    }
    case 'devices':
      if (state.role !== 'admin') throw fail('forbidden', 'admin only');
      return state.devices;
    case 'device_revoke': {
      if (state.role !== 'admin') throw fail('forbidden', 'admin only');
      const d = state.devices.find((x) => x.id === a.deviceId);
      if (!d) throw fail('bad_request', `no device ${String(a.deviceId)}`);
      if (!String(a.reason ?? '').trim()) throw fail('validation_failed', 'reason is required');
      if (d.revoked) throw fail('already_revoked', 'this device is already revoked');
      Object.assign(d, { revoked: true, revokedAt: '2026-11-28T10:00:00Z', activeSessions: 0 });
      return null;
    }
    case 'device_wipe': {
      if (state.role !== 'admin') throw fail('forbidden', 'admin only');
      if (!state.steppedUp) throw fail('step_up_required', 'step-up required');
      const d = state.devices.find((x) => x.id === a.deviceId);
      if (!d) throw fail('bad_request', `no device ${String(a.deviceId)}`);
      if (!String(a.reason ?? '').trim()) throw fail('validation_failed', 'reason is required');
      d.wipePending = true;
      return null;
    }
    case 'set_device_printer_profile': {
      if (state.role !== 'admin') throw fail('forbidden', 'admin only');
      const d = state.devices.find((x) => x.id === a.deviceId);
      if (!d) throw fail('bad_request', `no device ${String(a.deviceId)}`);
      const p = a.profile as Obj;
      for (const k of ['labelPrinter', 'documentPrinter']) {
        if (p[k] != null && !PRINTER_TARGET.test(String(p[k]))) throw fail('validation_failed', `${k} must be tcp://HOST:PORT or cups://QUEUE`);
      }
      if (p.labelFormat !== 'zpl203' && p.labelFormat !== 'zpl300') throw fail('validation_failed', 'labelFormat');
      d.printerProfile = { labelPrinter: p.labelPrinter ?? null, labelFormat: p.labelFormat, documentPrinter: p.documentPrinter ?? null };
      return null;
    }
    case 'set_device_update_channel': {
      if (state.role !== 'admin') throw fail('forbidden', 'admin only');
      const c = a.channel == null ? '' : String(a.channel).trim();
      if (c && !/^[a-z0-9-]{1,32}$/.test(c)) throw fail('validation_failed', 'channel: not a channel name');
      if (!state.steppedUp) throw fail('step_up_required', 'step-up required');
      const d = state.devices.find((x) => x.id === a.deviceId);
      if (!d) throw fail('not_found', `no device ${String(a.deviceId)}`);
      d.updateChannel = c || null;
      return null;
    }
    case 'adjustments': {
      supervisor();
      const st = a.status == null ? 'pending' : String(a.status);
      if (!['pending', 'approved', 'rejected'].includes(st)) throw fail('validation_failed', 'status must be pending, approved or rejected');
      return adjustments.filter((r) => r.status === st);
    }
    case 'adjust': {
      supervisor();
      const delta = Number(a.delta);
      if (!KNOWN_SKUS.has(String(a.sku))) throw fail('unknown_sku', `no SKU \`${String(a.sku)}\``);
      if (!String(a.reason ?? '').trim()) throw fail('ledger_missing_reason', 'an adjustment needs a reason code');
      if (!Number.isInteger(delta) || delta === 0) throw fail('ledger_non_positive_quantity', 'delta must not be zero');
      if (Math.abs(delta) <= ADJUST_THRESHOLD) return { outcome: 'applied', requestId: null };
      const id = `adj-${String(++adjustSeq).padStart(4, '0')}`;
      adjustments.unshift({ id, sku: String(a.sku), location: String(a.location), lot: (a.lot as string | null) ?? null, delta, reason: String(a.reason), status: 'pending', requestedBy: ME, requestedAt: '2026-11-28T10:00:00Z', decidedBy: null });
      return { outcome: 'pending_approval', requestId: id };
    }
    case 'adjustment_decide': {
      supervisor();
      const r = adjustments.find((x) => x.id === a.id);
      if (!r) throw fail('not_found', 'adjustment request not found');
      if (r.status !== 'pending') throw fail('adjustment_already_decided', `this request is already ${r.status}`);
      // The server refuses the requester either decision.
      if (r.requestedBy === ME) throw fail('four_eyes_required', 'another supervisor must approve an adjustment you requested');
      r.status = a.approve ? 'approved' : 'rejected';
      r.decidedBy = ME;
      return r.status;
    }
    case 'count_create': {
      supervisor();
      if (!KNOWN_SKUS.has(String(a.sku))) throw fail('unknown_sku', `no SKU \`${String(a.sku)}\``);
      const id = `cnt-${String(++countSeq).padStart(4, '0')}`;
      const c: Count = { id, sku: String(a.sku), location: String(a.location), lot: (a.lot as string | null) ?? null, status: 'open', expected: null, counted: null, variance: null, createdAt: '2026-11-28T10:00:00Z' };
      counts.set(id, c);
      return { ...c };
    }
    case 'count_get':
      supervisor();
      return { ...countOf(a.id) };
    case 'count_enter': {
      supervisor();
      const c = countOf(a.id);
      if (c.status !== 'open' && c.status !== 'counted') throw fail('count_already_decided', `this count is already ${c.status}`);
      const n = Number(a.counted);
      if (!Number.isInteger(n) || n < 0) throw fail('invalid_quantity', 'counted must be 0 or more');
      Object.assign(c, { status: 'counted', expected: 40, counted: n, variance: n - 40 });
      return { ...c };
    }
    case 'count_decide': {
      supervisor();
      const c = countOf(a.id);
      if (c.status !== 'counted') throw fail('count_not_counted', `this count is ${c.status}: enter the count first`);
      c.status = a.approve ? 'approved' : 'rejected';
      return { ...c };
    }
    case 'counts':
      supervisor();
      return listed([...counts.values()].sort((x, y) => (x.id < y.id ? 1 : -1)), a.status, ['open', 'counted', 'approved', 'rejected']);
    case 'locations':
      supervisor();
      return LOCATIONS.map((l) => ({ ...l }));
    case 'sku_lookup':
      return catalogueSku(a.code);
    case 'inbound_shipments':
      supervisor();
      return listed(inbound, a.status, ['open', 'received']);
    case 'inbound_get': {
      supervisor();
      const i = inbound.find((x) => x.id === a.id);
      if (!i) throw fail('not_found', 'inbound shipment not found');
      return JSON.parse(JSON.stringify(i));
    }
    case 'inbound_create': {
      supervisor();
      const reference = String(a.reference ?? '').trim();
      if (!reference) throw fail('validation_failed', 'reference is required');
      const lines = newLines(a.lines, 10_000_000);
      if (inbound.some((i) => i.reference === reference)) throw fail('conflict', `an inbound shipment \`${reference}\` already exists`);
      const i: Inbound = {
        id: `in-${String(++inboundSeq).padStart(4, '0')}`, reference, warehouse: 'TOKYO1', expectedOn: (a.expectedOn as string | null) ?? null, status: 'open', createdAt: '2026-11-28T10:00:00Z',
        lines: lines.map((l, n) => ({ lineNo: n + 1, sku: l.sku, expected: l.quantity, received: 0 })),
      };
      inbound.unshift(i);
      return JSON.parse(JSON.stringify(i));
    }
    case 'receive': {
      supervisor();
      // In the server's order: the SKU, the shipment, the location, the lot, then the ledger.
      const k = knownSku(a.sku);
      const q = Number(a.quantity);
      let line: InboundLine | undefined;
      let shipment: Inbound | undefined;
      if (a.inboundId != null) {
        shipment = inbound.find((x) => x.id === a.inboundId);
        if (!shipment) throw fail('unknown_inbound', 'no such inbound shipment');
        if (shipment.status !== 'open') throw fail('inbound_closed', 'this inbound shipment is already fully received');
        line = shipment.lines.find((l) => l.sku === k.sellerSku && l.received < l.expected);
        if (!line) throw fail('not_on_inbound', 'this SKU is not expected (or already fully received) on this inbound shipment');
        if (line.received + Math.max(q, 0) > line.expected) throw fail('over_receipt', `${line.expected} expected, ${line.received} already received: ${q} more is too many (receive the surplus blind)`);
      }
      bin(a.location);
      if (k.lotTracked && a.lot == null) throw fail('lot_required', `${k.sellerSku} is lot-tracked: give the lot and expiry`);
      if (!Number.isInteger(q) || q <= 0) throw fail('ledger_non_positive_quantity', 'quantity must be positive');
      if (line && shipment) {
        line.received += q;
        if (shipment.lines.every((l) => l.received >= l.expected)) shipment.status = 'received';
      }
      addStock(k.sellerSku, String(a.location), (a.lot as string | null) ?? null, (a.expiry as string | null) ?? null, q);
      return null;
    }
    case 'putaway': {
      supervisor();
      bin(a.from);
      bin(a.to);
      knownSku(a.sku);
      const q = Number(a.quantity);
      if (!Number.isInteger(q) || q <= 0) throw fail('ledger_non_positive_quantity', 'quantity must be positive');
      if (a.from === a.to) throw fail('ledger_same_location', 'from and to are the same location');
      const lot = (a.lot as string | null) ?? null;
      const row = received.find((r) => r.sellerSku === a.sku && r.location === a.from && r.lot === lot);
      if (!row || (row.available as number) < q) throw fail('ledger_insufficient_available', `only ${String(row?.available ?? 0)} available`);
      row.onHand = (row.onHand as number) - q;
      row.available = (row.available as number) - q;
      if (row.onHand === 0) received.splice(received.indexOf(row), 1);
      addStock(String(a.sku), String(a.to), lot, (row.expiry as string | null) ?? null, q);
      return null;
    }
    case 'returns':
      supervisor();
      return listed(returns, a.status, ['expected', 'received', 'restocked', 'quarantined', 'disposed']);
    case 'return_get': {
      supervisor();
      const r = returns.find((x) => x.id === a.id);
      if (!r) throw fail('not_found', 'return not found');
      return JSON.parse(JSON.stringify(r));
    }
    case 'return_create': {
      supervisor();
      const reason = String(a.reason ?? '');
      if (!/^[A-Za-z0-9_-]{1,64}$/.test(reason)) throw fail('validation_failed', "reason_code must be 1–64 characters of letters, digits, '_' or '-'");
      const lines = newLines(a.lines, 100_000);
      if (a.orderId != null && !KNOWN_ORDERS.has(String(a.orderId))) throw fail('not_found', 'order not found');
      const r: ReturnRow = {
        id: `rma-${String(++returnSeq).padStart(4, '0')}`, orderId: (a.orderId as string | null) ?? null, status: 'expected', reason,
        lines: lines.map((l, n) => ({ lineNo: n + 1, ...l })), createdAt: '2026-11-28T10:00:00Z',
      };
      returns.unshift(r);
      return JSON.parse(JSON.stringify(r));
    }
    case 'return_receive': {
      supervisor();
      const r = returns.find((x) => x.id === a.id);
      if (!r) throw fail('not_found', 'return not found');
      if (r.status !== 'expected') throw fail('return_already_received', `this return is already ${r.status}`);
      const d = String(a.disposition);
      const defaults: Record<string, string> = { restock: 'A-01-01-01', quarantine: 'QC-01-01', dispose: 'RET-01-01' };
      if (!(d in defaults)) throw fail('validation_failed', 'disposition');
      const where = bin(a.location ?? defaults[d]);
      if (d === 'quarantine' && where.kind !== 'quarantine') throw fail('not_a_quarantine_location', `${String(where.code)} is not a quarantine location`);
      for (const l of r.lines) {
        if (knownSku(l.sku).lotTracked && a.lot == null) throw fail('lot_required', `${l.sku} is lot-tracked: give the lot`);
      }
      if (d !== 'dispose') for (const l of r.lines) addStock(l.sku, String(where.code), (a.lot as string | null) ?? null, null, l.quantity);
      r.status = { restock: 'restocked', quarantine: 'quarantined', dispose: 'disposed' }[d] ?? r.status;
      return JSON.parse(JSON.stringify(r));
    }
    case 'audit_log': {
      if (state.role !== 'admin') throw fail('forbidden', 'admin only');
      const limit = a.limit == null ? 100 : Number(a.limit);
      if (!(limit >= 1 && limit <= 500)) throw fail('validation_failed', 'limit must be between 1 and 500');
      let rows = auditEvents();
      if (a.before != null) rows = rows.filter((r) => r.seq < Number(a.before));
      const events = rows.slice(0, limit);
      return { events, nextBefore: rows.length > limit ? events[events.length - 1].seq : null };
    }
    case 'audit_verify':
      return { ok: true, checked: 4821, brokenAt: null };
    case 'retention':
      admin();
      return { ...retention };
    case 'set_retention': {
      admin();
      // As the command: the range first (the core's rule), then the server's step-up.
      const businessDays = retentionDays('business_days', a.businessDays);
      const auditDays = retentionDays('audit_days', a.auditDays);
      if (!state.steppedUp) throw fail('step_up_required', 'step-up required');
      Object.assign(retention, { businessDays, auditDays });
      return { ...retention };
    }
    case 'data_requests': {
      admin();
      const limit = a.limit == null ? 100 : Number(a.limit);
      if (!(limit >= 1 && limit <= 500)) throw fail('validation_failed', 'limit must be 1–500');
      return dataRequests().slice(0, limit);
    }
    case 'data_request_create': {
      admin();
      const kind = String(a.kind);
      const orderId = String(a.orderId ?? '').trim();
      if (!['export', 'correct', 'delete'].includes(kind)) throw fail('validation_failed', `kind: "${kind}" is not export, correct or delete`);
      if (!orderId || !String(a.reason ?? '').trim()) throw fail('validation_failed', 'orderId and reason are required');
      if ((kind === 'correct') !== (a.recipient != null)) throw fail('validation_failed', 'a recipient comes with a correction only');
      if (!state.steppedUp) throw fail('step_up_required', 'step-up required');
      if (!(orderId in recipients)) throw fail('not_found', 'order not found');
      const had = recipients[orderId];
      let exported: Obj | null = null;
      let result = DR_RESULTS[kind];
      if (kind === 'export') {
        const o = orders.find((x) => x.id === orderId);
        exported = { id: orderId, external_id: o?.externalId ?? null, status: o?.status ?? 'shipped', recipient_pii: had ? 'granted' : 'purged', recipient: had, lines: o?.lines.map((l) => ({ line_no: l.lineNo, sku: l.sellerSku, quantity: l.quantity })) ?? [] };
        if (!had) result = 'order, lines and packages exported (no recipient PII held)';
      } else if (kind === 'delete') {
        if (!had) result = 'no recipient PII held (already erased or never stored)';
        recipients[orderId] = null;
      } else {
        if (!had) throw fail('pii_purged', "this order's recipient PII was erased; it cannot be corrected");
        const r = a.recipient as Obj;
        if (!/^\d{3}-?\d{4}$/.test(String(r.postalCode))) throw fail('invalid_postal_code', `postal code must be NNN-NNNN, got \`${String(r.postalCode)}\``);
        recipients[orderId] = { name: r.name, postal_code: r.postalCode, prefecture: r.prefecture, city: r.city, address1: r.address1, address2: r.address2, phone: r.phone, email: r.email };
      }
      const now = '2026-11-28T10:00:00Z';
      const request: DataRequest = {
        id: `dr-new-${++dataRequestSeq}`, kind, orderId, requestedBy: ME, reason: String(a.reason).trim(),
        verifiedAt: now, dueBy: '2026-12-28T10:00:00Z', status: 'done', doneAt: now, result,
      };
      dataRequests().unshift(request);
      return { request, export: exported };
    }
    default:
      return updatesAndReleases(cmd, a);
  }
}

mockWindows('main');
if (cfg.tauriShell) (globalThis as unknown as Obj).isTauri = true;
mockIPC(
  async (cmd, args) => {
    const a = (args ?? {}) as Obj;
    calls.push({ cmd, args: JSON.parse(JSON.stringify(a)) });
    if (cfg.delayMs) await new Promise((r) => setTimeout(r, cfg.delayMs));
    try {
      return await handle(cmd, a);
    } catch (e) {
      // Tauri rejects with the serialised error value itself.
      if (e instanceof Reject) throw e.err;
      throw { code: 'internal', message: String(e) };
    }
  },
  { shouldMockEvents: true },
);

(window as unknown as Obj).__mock = {
  calls,
  state,
  releases,
  orders,
  recipients,
  retention,
  inbound,
  returns,
  received,
  emit,
  status,
  callsOf: (cmd: string) => calls.filter((c) => c.cmd === cmd),
  setOnline(online: boolean) {
    state.online = online;
    emit('station://status', status());
  },
  failNext(cmd: string, err: Obj) {
    cfg.failNext = { ...(cfg.failNext ?? {}), [cmd]: err };
  },
};
