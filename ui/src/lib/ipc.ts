// The one door to the Tauri shell. Types mirror docs/desktop-ipc.md; every rejection is
// normalised to AppError so screens branch on `code`, never on message text.
import { invoke } from '@tauri-apps/api/core';
import { listen, type UnlistenFn } from '@tauri-apps/api/event';

export type Role = 'packer' | 'supervisor' | 'admin';
/** `keyring`: the OS's (kernel keyring on Linux, Keychain, Credential Manager); `file`: the 0600 fallback. */
export type SecretStore = 'keyring' | 'secret_service' | 'file';
export type Locale = 'ja' | 'en';

export type AppInfo = {
  version: string;
  loggedIn: boolean;
  server: string | null;
  tenant: string | null;
  email: string | null;
  role: Role | null;
  secretStore: SecretStore;
  secretStoreDescription: string;
  locale: Locale;
};
export type ServerProbe = { server: string; fingerprint: string; subject: string | null };
export type PrinterStateName = 'ready' | 'offline' | 'paper_out' | 'head_open' | 'paused' | 'unknown';
export type PrinterState = { target: string; state: PrinterStateName; message: string | null };
export type FeedbackState = 'not_required' | 'pending' | 'sent' | 'confirmed' | 'failed' | 'handled';
export type RecentDispatch = { orderId: string; externalId: string; feedback: FeedbackState; reason: string | null };
export type StationStatus = {
  online: boolean;
  loggedIn: boolean;
  server: string;
  tenant: string;
  secretStore: string;
  secretStoreDescription: string;
  outboxPending: number;
  outboxConflicts: number;
  cachedOrders: number;
  cachedSkus: number;
  cacheBytes: number;
  lastSync: string | null;
  printer: PrinterState | null;
  recent: RecentDispatch[];
};
export type OrderLine = {
  lineNo: number;
  sku: string;
  sellerSku: string;
  name: string;
  quantity: number;
  packed: number;
  barcodes: string[];
  imageUrl: string | null;
  lotTracked: boolean;
};
export type Package = {
  seq: number;
  boxType: string;
  weightG: number;
  carrier: string | null;
  trackingNumber: string | null;
  feedback: string;
  feedbackReason: string | null;
};
export type RecipientMasked = { name: string; prefecture: string; city: string; postalCode: string };
export type OrderView = {
  id: string;
  externalId: string;
  channel: string;
  warehouse: string;
  status: string;
  lines: OrderLine[];
  packages: Package[];
  shipBy: string | null;
  recipientMasked: RecipientMasked | null;
  complete: boolean;
};
/** An order after a scan or a package; `recordedOffline`: the server was unreachable, so it was
 * checked against the cached order and waits in the outbox, sent when the connection returns. */
export type PackOutcome = OrderView & { recordedOffline: boolean };
/** A pre-printed carrier label stuck on the parcel (the only label there can be offline). */
export type PreprintedLabel = { carrier: 'yamato' | 'sagawa'; trackingNumber: string };
export type PrintOutcome = {
  orderId: string;
  packageSeq: number;
  printer: string;
  bytes: number;
  sha256: string;
  source: 'server' | 'local_fallback';
  prints: number | null;
};
export type DispatchOutcome = { orderId: string; shipTime: string; queued: boolean };
export type SyncReport = { mode: 'full' | 'delta'; orders: number; skus: number; removed: number; ms: number };
export type SyncProgress = { phase: 'orders' | 'skus' | 'changes' | 'done'; done: number; total: number | null };
export type PrinterInfo = { name: string; target: string; kind: 'cups' | 'tcp' };
export type LabelFormat = 'zpl203' | 'zpl300' | 'pdf';
export type PrinterProfile = { labelPrinter: string | null; labelFormat: LabelFormat; documentPrinter: string | null };
export type StockRow = {
  sku: string;
  sellerSku: string;
  name: string;
  location: string;
  lot: string | null;
  expiry: string | null;
  onHand: number;
  allocated: number;
  available: number;
};
export type MovementKind = 'receive' | 'putaway' | 'move' | 'adjust' | 'count' | 'reserve' | 'unreserve' | 'pick' | 'ship' | 'return' | 'dispose';
export const MOVEMENT_KINDS: readonly MovementKind[] = ['receive', 'putaway', 'move', 'adjust', 'count', 'reserve', 'unreserve', 'pick', 'ship', 'return', 'dispose'];
export type MovementRow = {
  /** The cursor for `before` (older pages). */
  id: string;
  /** RFC 3339, UTC. */
  at: string;
  kind: MovementKind;
  sku: string;
  from: string | null;
  to: string | null;
  lot: string | null;
  quantity: number;
  /** A reason code. */
  reason: string;
  /** A user id. */
  user: string;
  reference: string | null;
};
export type ExceptionKind = 'feedback_failed' | 'at_risk' | 'carrier_error' | 'outbox_conflict';
export type ExceptionItem = {
  kind: ExceptionKind;
  orderId: string;
  externalId: string | null;
  detail: string;
  /** An outbox conflict's code (the server's refusal, or `depends_on_conflict`), for the catalog. */
  code: string | null;
  since: string | null;
  /** The package whose feedback failed (`feedback_failed`), for `feedback_retry`. */
  seq: number | null;
};
export type UserRow = { id: string; email: string; role: Role; mfa: boolean; locked: boolean };
export type DeviceRow = {
  id: string;
  name: string | null;
  firstSeen: string;
  lastSeen: string;
  activeSessions: number;
  revoked: boolean;
  revokedAt: string | null;
  wipePending: boolean;
  wipedAt: string | null;
  /** This station. */
  current: boolean;
  printerProfile: PrinterProfile | null;
  /** The release channel its updates come from; null: the server's default (stable). */
  updateChannel: string | null;
};
export type StockFilter = {
  sku: string | null;
  location: string | null;
  lot: string | null;
  expiringBefore: string | null;
  lowStock: boolean | null;
  limit: number | null;
};
export type MovementFilter = {
  sku: string | null;
  kind: MovementKind | null;
  /** At or after (epoch ms). */
  sinceMs: number | null;
  /** A movement id: the page older than it. */
  before: string | null;
  limit: number | null;
};
export type AuditResult = { ok: boolean; checked: number; brokenAt: string | null };
export type AuditOutcome = 'success' | 'failure' | 'denied';
export type AuditEvent = {
  /** The event's place in the hash chain. */
  seq: number;
  /** RFC 3339, UTC. */
  at: string;
  actor: string;
  /** A stable action code, e.g. `login_ok`, `role_changed` (new ones may appear). */
  action: string;
  target: string | null;
  ip: string | null;
  outcome: AuditOutcome;
  detail: string | null;
};
export type AuditPage = { events: AuditEvent[]; /** `before` for the next (older) page; null on the last. */ nextBefore: number | null };
export type AdjustmentStatus = 'pending' | 'approved' | 'rejected';
export const ADJUSTMENT_STATUSES: readonly AdjustmentStatus[] = ['pending', 'approved', 'rejected'];
/** Reason codes the form offers (the server takes any code up to 64 characters). */
export const ADJUSTMENT_REASONS: readonly string[] = ['damaged', 'lost', 'found', 'expired', 'count_correction'];
export type AdjustmentRow = {
  id: string;
  sku: string;
  /** A location code. */
  location: string;
  lot: string | null;
  /** Positive: stock found; negative: written off. */
  delta: number;
  /** A reason code. */
  reason: string;
  status: AdjustmentStatus;
  /** A user id. */
  requestedBy: string;
  /** RFC 3339, UTC. */
  requestedAt: string;
  decidedBy: string | null;
};
export type NewAdjustment = { sku: string; location: string; lot: string | null; delta: number; reason: string };
export type AdjustOutcome = { outcome: 'applied' | 'pending_approval'; requestId: string | null };
export type CountStatus = 'open' | 'counted' | 'approved' | 'rejected';
export type CountTask = {
  id: string;
  sku: string;
  location: string;
  lot: string | null;
  status: CountStatus;
  /** On hand when the count was entered. */
  expected: number | null;
  counted: number | null;
  /** counted − expected. */
  variance: number | null;
  /** When the count was opened (RFC 3339, UTC); null from an older server. */
  createdAt: string | null;
};
// Goods in, putaway, returns and the counts list (docs/desktop-ipc.md, "Receiving and returns").
export type LocationRow = { code: string; kind: 'storage' | 'receiving' | 'packing' | 'outbound' | 'returns' | 'quarantine' | string; level: 'zone' | 'aisle' | 'bin' | string; parent: string | null };
/** A SKU of this station's catalogue; `lotTracked` null: not known here (cached by an older build). */
export type SkuInfo = { sellerSku: string; name: string; lotTracked: boolean | null; barcodes: string[] };
export type InboundStatus = 'open' | 'received';
export const INBOUND_STATUSES: readonly InboundStatus[] = ['open', 'received'];
export type InboundLine = { lineNo: number; sku: string; expected: number; received: number };
export type InboundRow = {
  id: string;
  reference: string;
  warehouse: string;
  /** YYYY-MM-DD. */
  expectedOn: string | null;
  status: InboundStatus | string;
  lines: InboundLine[];
  /** RFC 3339, UTC. */
  createdAt: string | null;
};
export type LineInput = { sku: string; quantity: number };
export type NewInbound = { reference: string; expectedOn: string | null; lines: LineInput[] };
/** `inboundId` null: a blind receipt. `lot` and `expiry` (YYYY-MM-DD) for a lot-tracked SKU. */
export type ReceiptInput = { inboundId: string | null; sku: string; quantity: number; location: string; lot: string | null; expiry: string | null; reference: string | null };
export type PutawayInput = { sku: string; from: string; to: string; quantity: number; lot: string | null };
export type ReturnStatus = 'expected' | 'received' | 'restocked' | 'quarantined' | 'disposed';
export const RETURN_STATUSES: readonly ReturnStatus[] = ['expected', 'restocked', 'quarantined', 'disposed'];
export type Disposition = 'restock' | 'quarantine' | 'dispose';
export const DISPOSITIONS: readonly Disposition[] = ['restock', 'quarantine', 'dispose'];
/** Why a customer returns (the server takes any code of letters, digits, '_' and '-'). */
export const RETURN_REASONS: readonly string[] = ['damaged', 'defective', 'wrong_item', 'unwanted', 'not_as_described'];
/** What the inspection found. */
export const INSPECTION_REASONS: readonly string[] = ['resellable', 'opened', 'damaged', 'defective', 'expired'];
export type ReturnLine = { lineNo: number | null; sku: string; quantity: number };
export type ReturnRow = { id: string; orderId: string | null; status: ReturnStatus | string; /** The customer's reason code. */ reason: string; lines: ReturnLine[]; createdAt: string | null };
export type NewReturn = { orderId: string | null; reason: string; lines: LineInput[] };
export type ReturnReceiptInput = { id: string; disposition: Disposition; location: string | null; lot: string | null; reason: string };
/** Retention in days, each 30–3650. */
export type Retention = { businessDays: number; auditDays: number };
export const RETENTION_MIN_DAYS = 30;
export const RETENTION_MAX_DAYS = 3650;
export type DataRequestKind = 'export' | 'correct' | 'delete';
export const DATA_REQUEST_KINDS: readonly DataRequestKind[] = ['export', 'correct', 'delete'];
export type DataRequestRow = {
  id: string;
  /** A newer server's kind still reads (shown as it came). */
  kind: DataRequestKind | string;
  orderId: string;
  /** A user id. */
  requestedBy: string;
  reason: string;
  /** RFC 3339, UTC. */
  verifiedAt: string;
  /** Verification + 30 days. */
  dueBy: string;
  status: 'open' | 'done' | string;
  doneAt: string | null;
  /** What was done (no personal data). */
  result: string | null;
};
export type RecipientInput = {
  name: string;
  postalCode: string;
  prefecture: string;
  city: string;
  address1: string;
  address2: string | null;
  phone: string | null;
  email: string | null;
};
export type NewDataRequest = { kind: DataRequestKind; orderId: string; reason: string; recipient: RecipientInput | null };
/** `export`: the server's order document as it came (snake_case), the full recipient included. */
export type DataRequestOutcome = { request: DataRequestRow; export: Record<string, unknown> | null };
export type LogoutOutcome = { revokedOnServer: boolean; outboxDiscarded: number };

export class AppError extends Error {
  readonly code: string;
  readonly detail?: Record<string, unknown>;
  constructor(code: string, message: string, detail?: Record<string, unknown>) {
    super(message);
    this.name = 'AppError';
    this.code = code;
    this.detail = detail;
  }
}

/** Turns whatever a command rejected with into an AppError (the contract shape, a bare string, or an Error). */
export function toAppError(e: unknown): AppError {
  if (e instanceof AppError) return e;
  if (e && typeof e === 'object' && typeof (e as { code?: unknown }).code === 'string') {
    const o = e as { code: string; message?: unknown; detail?: unknown };
    const detail = o.detail && typeof o.detail === 'object' ? (o.detail as Record<string, unknown>) : undefined;
    return new AppError(o.code, typeof o.message === 'string' ? o.message : o.code, detail);
  }
  if (typeof e === 'string') return new AppError('internal', e);
  if (e instanceof Error) return new AppError('internal', e.message);
  return new AppError('internal', String(e));
}

let authLost: ((e: AppError) => void) | null = null;

/**
 * Codes after which this station has no session: the app goes back to the login screen.
 * `device_wiped` / `device_revoked`: an admin wiped or revoked this station (its cache and keys are erased).
 */
export const AUTH_LOST_CODES: readonly string[] = ['not_logged_in', 'session_expired', 'device_wiped', 'device_revoked'];

/** Called when any command says the session is gone, so the app can show the login screen. */
export function onAuthLost(cb: (e: AppError) => void): void {
  authLost = cb;
}

export async function call<T>(cmd: string, args?: Record<string, unknown>): Promise<T> {
  try {
    return await invoke<T>(cmd, args);
  } catch (e) {
    const err = toAppError(e);
    // A login reports its own failure; a refused logout keeps the session, unless the station itself is gone.
    const stationGone = err.code === 'device_wiped' || err.code === 'device_revoked';
    if (AUTH_LOST_CODES.includes(err.code) && cmd !== 'login' && (cmd !== 'logout' || stationGone)) {
      authLost?.(err);
    }
    throw err;
  }
}

export const ipc = {
  appInfo: () => call<AppInfo>('app_info'),
  setLocale: (locale: Locale) => call<null>('set_locale', { locale }),
  probeServer: (server: string) => call<ServerProbe>('probe_server', { server }),
  login: (a: { server: string; fingerprint: string; tenant: string; email: string; password: string; totp: string | null }) =>
    call<AppInfo>('login', a),
  logout: (force: boolean) => call<LogoutOutcome>('logout', { force }),
  status: () => call<StationStatus>('status'),
  sync: () => call<SyncReport>('sync'),
  openOrder: (code: string) => call<OrderView>('open_order', { code }),
  scanItem: (orderId: string, barcode: string, lot: string | null) => call<PackOutcome>('scan_item', { orderId, barcode, lot }),
  addPackage: (orderId: string, boxType: string, weightG: number, label: PreprintedLabel | null = null) =>
    call<PackOutcome>('add_package', { orderId, boxType, weightG, carrier: label?.carrier ?? null, trackingNumber: label?.trackingNumber ?? null }),
  bookLabel: (orderId: string, seq: number, carrier: string) => call<OrderView>('book_label', { orderId, seq, carrier }),
  labelPreview: (orderId: string, seq: number) => call<{ png: string }>('label_preview', { orderId, seq }),
  printLabel: (orderId: string, seq: number, reprintReason: string | null) =>
    call<PrintOutcome>('print_label', { orderId, seq, reprintReason }),
  voidLabel: (orderId: string, seq: number, reason: string) => call<OrderView>('void_label', { orderId, seq, reason }),
  /** `labelScans`: every package's label as scanned back at the bench (one per parcel); the shell
   * refuses the dispatch unless each package was scanned (`labels_unverified`). */
  dispatch: (orderId: string, labelScan: string, labelScans: string[] | null = null) =>
    call<DispatchOutcome>('dispatch', { orderId, labelScan, labelScans }),
  printers: () => call<{ printers: PrinterInfo[]; profile: PrinterProfile }>('printers'),
  setPrinterProfile: (profile: PrinterProfile) => call<PrinterProfile>('set_printer_profile', { profile }),
  testPrint: () => call<{ printer: string; bytes: number }>('test_print'),
  stock: (f: StockFilter) => call<StockRow[]>('stock', f),
  movements: (f: MovementFilter) => call<MovementRow[]>('movements', f),
  exceptions: () => call<ExceptionItem[]>('exceptions'),
  feedbackRetry: (orderId: string, seq: number) => call<null>('feedback_retry', { orderId, seq }),
  users: () => call<UserRow[]>('users'),
  stepUp: (totp: string) => call<null>('step_up', { totp }),
  mfaReset: (userId: string) => call<null>('mfa_reset', { userId }),
  devices: () => call<DeviceRow[]>('devices'),
  deviceRevoke: (deviceId: string, reason: string) => call<null>('device_revoke', { deviceId, reason }),
  deviceWipe: (deviceId: string, reason: string) => call<null>('device_wipe', { deviceId, reason }),
  setDevicePrinterProfile: (deviceId: string, profile: PrinterProfile) =>
    call<null>('set_device_printer_profile', { deviceId, profile }),
  /** Admin, step-up; null: the server's default channel. */
  setDeviceUpdateChannel: (deviceId: string, channel: string | null) => call<null>('set_device_update_channel', { deviceId, channel }),
  auditVerify: () => call<AuditResult>('audit_verify'),
  auditLog: (before: number | null, limit: number | null) => call<AuditPage>('audit_log', { before, limit }),
  adjustments: (status: AdjustmentStatus | null) => call<AdjustmentRow[]>('adjustments', { status }),
  adjust: (a: NewAdjustment) => call<AdjustOutcome>('adjust', a),
  adjustmentDecide: (id: string, approve: boolean) => call<AdjustmentStatus>('adjustment_decide', { id, approve }),
  countCreate: (sku: string, location: string, lot: string | null) => call<CountTask>('count_create', { sku, location, lot }),
  countGet: (id: string) => call<CountTask>('count_get', { id }),
  countEnter: (id: string, counted: number) => call<CountTask>('count_enter', { id, counted }),
  countDecide: (id: string, approve: boolean) => call<CountTask>('count_decide', { id, approve }),
  counts: (status: CountStatus | null, limit: number | null = null) => call<CountTask[]>('counts', { status, limit }),
  locations: () => call<LocationRow[]>('locations'),
  skuLookup: (code: string) => call<SkuInfo | null>('sku_lookup', { code }),
  inboundShipments: (status: InboundStatus | null, limit: number | null = null) => call<InboundRow[]>('inbound_shipments', { status, limit }),
  inboundGet: (id: string) => call<InboundRow>('inbound_get', { id }),
  inboundCreate: (n: NewInbound) => call<InboundRow>('inbound_create', n),
  receive: (r: ReceiptInput) => call<null>('receive', r),
  putaway: (p: PutawayInput) => call<null>('putaway', p),
  returns: (status: ReturnStatus | null, limit: number | null = null) => call<ReturnRow[]>('returns', { status, limit }),
  returnGet: (id: string) => call<ReturnRow>('return_get', { id }),
  returnCreate: (n: NewReturn) => call<ReturnRow>('return_create', n),
  returnReceive: (r: ReturnReceiptInput) => call<ReturnRow>('return_receive', r),
  retention: () => call<Retention>('retention'),
  setRetention: (r: Retention) => call<Retention>('set_retention', r),
  dataRequests: (limit: number | null) => call<DataRequestRow[]>('data_requests', { limit }),
  dataRequestCreate: (r: NewDataRequest) => call<DataRequestOutcome>('data_request_create', r),
};

export const events = {
  status: (cb: (s: StationStatus) => void): Promise<UnlistenFn> => listen<StationStatus>('station://status', (e) => cb(e.payload)),
  syncProgress: (cb: (p: SyncProgress) => void): Promise<UnlistenFn> =>
    listen<SyncProgress>('sync://progress', (e) => cb(e.payload)),
};

// --- App updates (every role) and the admin's releases: update_check, update_install (emits
// update-progress), releases_list, release_publish, release_set. See docs/desktop-ipc.md.
export type UpdateCheck = {
  /** A newer version is meant for this station. */
  available: boolean;
  version: string | null;
  notes: string | null;
  /** RFC 3339. */
  pubDate: string | null;
  /** The running version. */
  current: string;
  /** This copy can install it (it was installed from a package); otherwise `update_install` refuses. */
  installable: boolean;
};
export type UpdateInstalled = { version: string; /** Always true: a restart runs the new version. */ restartRequired: boolean };
export type UpdatePhase = 'download' | 'verify' | 'install' | 'done';
export type UpdateProgress = { phase: UpdatePhase; downloaded: number; total: number | null };
export type ReleaseArtifact = { platform: string; url: string; /** base64 of the minisign .sig file */ signature: string };
export type ReleaseRow = {
  id: string;
  channel: string;
  version: string;
  notes: string | null;
  pubDate: string | null;
  /** 0–100: the share of stations it is offered to. */
  rolloutPercent: number;
  paused: boolean;
  artifacts: ReleaseArtifact[];
  /** RFC 3339, UTC. */
  createdAt: string | null;
  /** A user id. */
  createdBy: string | null;
  /** Bumped by every change: sent back with a change, someone else's change meanwhile is refused (`version_conflict`). */
  versionCheck: number | null;
};
export type NewRelease = { version: string; channel: string | null; notes: string | null; rolloutPercent: number; artifacts: ReleaseArtifact[] };
export type ReleaseChange = { rolloutPercent: number | null; paused: boolean | null; versionCheck: number | null };
/** The platform a new artifact starts with (tauri-plugin-updater's target). */
export const DEFAULT_RELEASE_PLATFORM = 'linux-x86_64';
/** MAJOR.MINOR.PATCH with an optional -pre and +build (the command checks it again). */
export const RELEASE_VERSION = /^(0|[1-9]\d{0,8})\.(0|[1-9]\d{0,8})\.(0|[1-9]\d{0,8})(-[0-9A-Za-z-]+(\.[0-9A-Za-z-]+)*)?(\+[0-9A-Za-z-]+(\.[0-9A-Za-z-]+)*)?$/;

export const updatesIpc = {
  updateCheck: () => call<UpdateCheck>('update_check'),
  updateInstall: () => call<UpdateInstalled>('update_install'),
  releasesList: (channel: string | null) => call<ReleaseRow[]>('releases_list', { channel }),
  releasePublish: (r: NewRelease) => call<ReleaseRow>('release_publish', r),
  releaseSet: (id: string, change: ReleaseChange) => call<ReleaseRow>('release_set', { id, ...change }),
};

export const updateEvents = {
  progress: (cb: (p: UpdateProgress) => void): Promise<UnlistenFn> => listen<UpdateProgress>('update-progress', (e) => cb(e.payload)),
};

// --- Packing slips (納品書): print_packing_slip. See docs/desktop-ipc.md.
/** A packing slip sent to the spooler (an A4 PDF the server made; an audited read of the recipient there). */
export type SlipOutcome = { orderId: string; /** The target it went to (cups://QUEUE). */ printer: string; bytes: number; sha256: string };

export const slipIpc = {
  /** To `printer` (cups://QUEUE), or null: the station's document printer. */
  printPackingSlip: (orderId: string, printer: string | null = null) => call<SlipOutcome>('print_packing_slip', { orderId, printer }),
};

// --- Admin → Connections: Amazon seller authorizations and carrier accounts (amazon_authorizations,
// amazon_connect, amazon_revoke, amazon_purge_pii, amazon_sync, amazon_feedback, feedback_handled,
// carrier_accounts, carrier_connect, carrier_update, carrier_remove). See docs/desktop-ipc.md. The secrets typed into the forms go to the server once
// and are never in an answer.
export type PiiGrant = 'granted' | 'not_granted';
export type FeedbackCounts = { pending: number; sent: number; confirmed: number; failed: number; handled: number };
export type AmazonAuthorization = {
  id: string;
  sellingPartnerId: string;
  marketplaces: string[];
  lwaClientId: string;
  warehouseId: string;
  piiRecipient: PiiGrant | string;
  piiBuyerEmail: PiiGrant | string;
  status: 'active' | 'revoked' | string;
  revokedReason: string | null;
  /** RFC 3339, UTC (as every time below). */
  revokedAt: string | null;
  piiPurgedAt: string | null;
  syncedUntil: string | null;
  lastSyncAt: string | null;
  lastSyncError: string | null;
  feedback: FeedbackCounts;
  createdAt: string | null;
};
export type AmazonConnectInput = {
  sellingPartnerId: string;
  /** Empty: the server's default (amazon.co.jp). */
  marketplaces: string[];
  lwaClientId: string;
  lwaClientSecret: string;
  refreshToken: string;
  warehouse: string | null;
  piiRecipient: boolean;
  piiBuyerEmail: boolean;
};
export type AmazonSyncResult = { seen: number; created: number; cancelled: number; flagged: number; problems: number; syncedUntil: string | null };
export type FeedbackRow = {
  orderId: string;
  externalId: string;
  packageSeq: number;
  trackingNumber: string | null;
  status: FeedbackState | string;
  reason: string | null;
  attempts: number;
  lastError: string | null;
  updatedAt: string | null;
};
export type CarrierName = 'yamato' | 'sagawa';
export const CARRIERS: readonly CarrierName[] = ['yamato', 'sagawa'];
export type CarrierMode = 'api' | 'self_issue';
export const CARRIER_MODES: readonly CarrierMode[] = ['api', 'self_issue'];
export type CarrierSender = { name: string; postalCode: string; addressLines: string[]; phone: string };
export type CarrierAccount = {
  carrier: CarrierName | string;
  mode: CarrierMode | string;
  baseUrl: string | null;
  customerCode: string | null;
  /** Self-issue: serials used of the allocated range; `rangeWarning` at 90 % or more. */
  rangeUsed: number | null;
  rangeTotal: number | null;
  rangeWarning: boolean;
  sender: CarrierSender;
  createdAt: string | null;
  /** The admin's name for the account. */
  label: string | null;
  /** False once disabled: no new labels are booked with it (its packages keep theirs). */
  enabled: boolean;
  disabledAt: string | null;
  updatedAt: string | null;
};
/** A change to a carrier account: null (or a blank text) leaves a field as it is, except
 * `label`, where '' removes it; a non-blank `apiKey` rotates the key. */
export type CarrierUpdateInput = {
  label?: string | null;
  baseUrl?: string | null;
  customerCode?: string | null;
  apiKey?: string | null;
  sender?: CarrierSender | null;
  enabled?: boolean | null;
};
export type CarrierConnectInput = {
  carrier: CarrierName;
  mode: CarrierMode;
  baseUrl: string | null;
  customerCode: string | null;
  apiKey: string | null;
  rangeFirst: number | null;
  rangeLast: number | null;
  sender: CarrierSender;
  label?: string | null;
};

export const connectionsIpc = {
  amazonAuthorizations: () => call<AmazonAuthorization[]>('amazon_authorizations'),
  amazonConnect: (input: AmazonConnectInput) => call<AmazonAuthorization>('amazon_connect', { input }),
  amazonRevoke: (id: string, reason: string | null) => call<AmazonAuthorization>('amazon_revoke', { id, reason }),
  amazonPurgePii: (id: string) => call<{ ordersPurged: number }>('amazon_purge_pii', { id }),
  amazonSync: (id: string) => call<AmazonSyncResult>('amazon_sync', { id }),
  amazonFeedback: (status: FeedbackState | null, limit: number | null = null) => call<FeedbackRow[]>('amazon_feedback', { status, limit }),
  carrierAccounts: () => call<CarrierAccount[]>('carrier_accounts'),
  carrierConnect: (input: CarrierConnectInput) => call<CarrierAccount>('carrier_connect', { input }),
  carrierUpdate: (carrier: string, input: CarrierUpdateInput) => call<CarrierAccount>('carrier_update', { carrier, input }),
  carrierRemove: (carrier: string) => call<null>('carrier_remove', { carrier }),
  /** A failed confirmation marked handled (sent again: `ipc.feedbackRetry`). */
  feedbackHandled: (orderId: string, seq: number) => call<null>('feedback_handled', { orderId, seq }),
};

// --- Exports: save_export (the app writes a CSV into the user's Downloads directory). See docs/desktop-ipc.md.
export type SavedExport = { /** The file written, in full. */ path: string; bytes: number };

export const exportIpc = {
  saveExport: (name: string, text: string) => call<SavedExport>('save_export', { name, text }),
};

// --- The login's gates: MFA enrolment and the forced password change. `login` refuses with
// `mfa_enrollment_required` / `password_change_required` and the app keeps the stopped login (the UI
// never holds its token). See docs/desktop-ipc.md.
export type MfaEnrolment = {
  /** The seed in base32, for manual entry. */
  secret: string;
  otpauthUri: string;
  /** The QR code: `data:image/svg+xml;base64,…` of the server's SVG, to use as an image source only. */
  qrDataUri: string;
};

export const loginGatesIpc = {
  enrolStart: () => call<MfaEnrolment>('login_enrol_start'),
  enrolConfirm: (code: string) => call<null>('login_enrol_confirm', { code }),
  enrolSignIn: (code: string) => call<AppInfo>('login_enrol_sign_in', { code }),
  changePassword: (current: string, next: string, repeat: string) =>
    call<AppInfo>('login_change_password', { current, new: next, repeat }),
  cancel: () => call<null>('login_gate_cancel'),
};
