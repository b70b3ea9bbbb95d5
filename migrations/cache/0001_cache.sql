-- The workstation's local cache (crates/wms-client). Every `payload` is AES-256-GCM sealed under the
-- installation's cache key with AAD = table + row id: only the ids, status and timestamps below are
-- in clear. Times are Unix milliseconds.

-- Orders released to this station, with their lines and packages (the server's OrderView, sealed).
CREATE TABLE orders (
    id TEXT PRIMARY KEY NOT NULL,
    status TEXT NOT NULL,
    updated_at INTEGER NOT NULL,
    payload BLOB NOT NULL
);
CREATE INDEX orders_status ON orders (status);

-- What a label needs of the recipient (name, postal code, address lines, phone), kept only while
-- the order is open at this station: deleted on dispatch and when the order leaves the working set.
CREATE TABLE recipients (
    order_id TEXT PRIMARY KEY NOT NULL,
    updated_at INTEGER NOT NULL,
    payload BLOB NOT NULL
);

CREATE TABLE skus (
    id TEXT PRIMARY KEY NOT NULL,
    updated_at INTEGER NOT NULL,
    payload BLOB NOT NULL
);

-- Barcode → SKU lookup by a keyed blind index (HMAC-SHA256 under a key derived from the cache key),
-- so the barcodes themselves are not in clear either.
CREATE TABLE barcodes (
    tag BLOB PRIMARY KEY NOT NULL,
    sku_id TEXT NOT NULL
);
CREATE INDEX barcodes_sku ON barcodes (sku_id);

-- Actions recorded at the bench, replayed to the server in `seq` order. `id` is the idempotency
-- key; `state` is pending, or conflict when the server refused it (shown to a supervisor, never
-- dropped). `last_error` holds the server's problem code only (no PII).
CREATE TABLE outbox (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    id TEXT NOT NULL UNIQUE,
    order_id TEXT NOT NULL,
    kind TEXT NOT NULL,
    state TEXT NOT NULL DEFAULT 'pending',
    created_at INTEGER NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    last_error TEXT,
    payload BLOB NOT NULL
);
CREATE INDEX outbox_state ON outbox (state, seq);

-- Sync bookkeeping (non-secret): last full load, later the change-feed cursor.
CREATE TABLE meta (
    k TEXT PRIMARY KEY NOT NULL,
    v TEXT NOT NULL
);
