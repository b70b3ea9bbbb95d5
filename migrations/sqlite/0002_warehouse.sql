-- Warehouse domain: master data, the stock ledger and its balances, orders and their fulfilment,
-- returns. Same logical schema as migrations/postgres/0002_warehouse.sql (which adds RLS).
-- Dates are ISO 'YYYY-MM-DD' text (sortable); batch_key is the batch id or '' for unbatched stock,
-- so that it can be part of a primary key on both backends.

CREATE TABLE warehouses (
    tenant_id   TEXT NOT NULL REFERENCES tenants (id),
    id          TEXT NOT NULL,
    code        TEXT NOT NULL,
    name        TEXT NOT NULL,
    created_at  BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, id),
    UNIQUE (tenant_id, code)
);

-- zone → aisle → bin; `kind` says what the place is for.
CREATE TABLE locations (
    tenant_id     TEXT NOT NULL,
    id            TEXT NOT NULL,
    warehouse_id  TEXT NOT NULL,
    parent_id     TEXT,
    level         TEXT NOT NULL CHECK (level IN ('zone', 'aisle', 'bin')),
    kind          TEXT NOT NULL CHECK (kind IN ('storage', 'receiving', 'packing', 'outbound', 'returns', 'quarantine')),
    code          TEXT NOT NULL,
    walk_order    BIGINT NOT NULL DEFAULT 0,
    created_at    BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, id),
    UNIQUE (tenant_id, warehouse_id, code),
    FOREIGN KEY (tenant_id, warehouse_id) REFERENCES warehouses (tenant_id, id),
    FOREIGN KEY (tenant_id, parent_id) REFERENCES locations (tenant_id, id)
);

CREATE TABLE skus (
    tenant_id        TEXT NOT NULL REFERENCES tenants (id),
    id               TEXT NOT NULL,
    seller_sku       TEXT NOT NULL,
    name             TEXT NOT NULL,
    lot_tracked      BIGINT NOT NULL CHECK (lot_tracked IN (0, 1)),
    shelf_life_days  BIGINT,
    weight_g         BIGINT,
    length_mm        BIGINT,
    width_mm         BIGINT,
    height_mm        BIGINT,
    low_stock_level  BIGINT NOT NULL DEFAULT 0,
    version          BIGINT NOT NULL DEFAULT 1,
    created_at       BIGINT NOT NULL,
    updated_at       BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, id),
    UNIQUE (tenant_id, seller_sku)
);

CREATE TABLE sku_barcodes (
    tenant_id  TEXT NOT NULL,
    barcode    TEXT NOT NULL,
    kind       TEXT NOT NULL CHECK (kind IN ('jan', 'upc', 'fnsku', 'other')),
    sku_id     TEXT NOT NULL,
    PRIMARY KEY (tenant_id, barcode),
    FOREIGN KEY (tenant_id, sku_id) REFERENCES skus (tenant_id, id)
);
CREATE INDEX sku_barcodes_sku ON sku_barcodes (tenant_id, sku_id);

CREATE TABLE batches (
    tenant_id    TEXT NOT NULL,
    id           TEXT NOT NULL,
    sku_id       TEXT NOT NULL,
    lot          TEXT NOT NULL,
    expiry       TEXT,
    received_on  TEXT NOT NULL,
    created_at   BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, id),
    UNIQUE (tenant_id, sku_id, lot),
    FOREIGN KEY (tenant_id, sku_id) REFERENCES skus (tenant_id, id)
);

-- The ledger: immutable movements. Balances below are derived from it in the same transaction.
CREATE TABLE stock_movements (
    tenant_id      TEXT NOT NULL,
    id             TEXT NOT NULL,
    at_ms          BIGINT NOT NULL,
    kind           TEXT NOT NULL,
    sku_id         TEXT NOT NULL,
    from_location  TEXT,
    to_location    TEXT,
    batch_key      TEXT NOT NULL,
    quantity       BIGINT NOT NULL CHECK (quantity > 0),
    reason_code    TEXT NOT NULL,
    user_id        TEXT NOT NULL,
    reference      TEXT,
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, sku_id) REFERENCES skus (tenant_id, id),
    FOREIGN KEY (tenant_id, from_location) REFERENCES locations (tenant_id, id),
    FOREIGN KEY (tenant_id, to_location) REFERENCES locations (tenant_id, id)
);
CREATE INDEX stock_movements_sku ON stock_movements (tenant_id, sku_id, at_ms);
CREATE INDEX stock_movements_at ON stock_movements (tenant_id, at_ms);

CREATE TABLE stock_balances (
    tenant_id    TEXT NOT NULL,
    sku_id       TEXT NOT NULL,
    location_id  TEXT NOT NULL,
    batch_key    TEXT NOT NULL,
    on_hand      BIGINT NOT NULL CHECK (on_hand >= 0),
    reserved     BIGINT NOT NULL CHECK (reserved >= 0),
    since_ms     BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, sku_id, location_id, batch_key),
    CHECK (reserved <= on_hand),
    FOREIGN KEY (tenant_id, sku_id) REFERENCES skus (tenant_id, id),
    FOREIGN KEY (tenant_id, location_id) REFERENCES locations (tenant_id, id)
);
CREATE INDEX stock_balances_location ON stock_balances (tenant_id, location_id);

CREATE TABLE orders (
    tenant_id         TEXT NOT NULL REFERENCES tenants (id),
    id                TEXT NOT NULL,
    channel           TEXT NOT NULL CHECK (channel IN ('amazon', 'manual')),
    external_id       TEXT NOT NULL,
    warehouse_id      TEXT NOT NULL,
    status            TEXT NOT NULL,
    ship_by           TEXT,
    deliver_by        TEXT,
    recipient_sealed  BLOB,
    recipient_masked  TEXT NOT NULL,
    ship_time_ms      BIGINT,
    version           BIGINT NOT NULL DEFAULT 1,
    created_at        BIGINT NOT NULL,
    updated_at        BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, id),
    UNIQUE (tenant_id, channel, external_id),
    FOREIGN KEY (tenant_id, warehouse_id) REFERENCES warehouses (tenant_id, id)
);
CREATE INDEX orders_status ON orders (tenant_id, status, created_at);

CREATE TABLE order_lines (
    tenant_id            TEXT NOT NULL,
    order_id             TEXT NOT NULL,
    line_no              BIGINT NOT NULL,
    sku_id               TEXT NOT NULL,
    quantity             BIGINT NOT NULL CHECK (quantity > 0),
    packed               BIGINT NOT NULL DEFAULT 0,
    marketplace_item_id  TEXT,
    PRIMARY KEY (tenant_id, order_id, line_no),
    CHECK (packed >= 0 AND packed <= quantity),
    FOREIGN KEY (tenant_id, order_id) REFERENCES orders (tenant_id, id),
    FOREIGN KEY (tenant_id, sku_id) REFERENCES skus (tenant_id, id)
);

-- What is reserved for each order line, where, and from which batch.
CREATE TABLE order_allocations (
    tenant_id    TEXT NOT NULL,
    order_id     TEXT NOT NULL,
    line_no      BIGINT NOT NULL,
    location_id  TEXT NOT NULL,
    batch_key    TEXT NOT NULL,
    quantity     BIGINT NOT NULL CHECK (quantity > 0),
    state        TEXT NOT NULL CHECK (state IN ('reserved', 'picked', 'shipped', 'released')),
    PRIMARY KEY (tenant_id, order_id, line_no, location_id, batch_key, state),
    FOREIGN KEY (tenant_id, order_id, line_no) REFERENCES order_lines (tenant_id, order_id, line_no),
    FOREIGN KEY (tenant_id, location_id) REFERENCES locations (tenant_id, id)
);

CREATE TABLE packages (
    tenant_id   TEXT NOT NULL,
    order_id    TEXT NOT NULL,
    seq         BIGINT NOT NULL,
    box_type    TEXT NOT NULL,
    weight_g    BIGINT NOT NULL CHECK (weight_g > 0),
    length_mm   BIGINT,
    width_mm    BIGINT,
    height_mm   BIGINT,
    created_at  BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, order_id, seq),
    FOREIGN KEY (tenant_id, order_id) REFERENCES orders (tenant_id, id)
);

CREATE TABLE returns (
    tenant_id    TEXT NOT NULL,
    id           TEXT NOT NULL,
    order_id     TEXT,
    status       TEXT NOT NULL CHECK (status IN ('expected', 'received', 'restocked', 'disposed', 'quarantined')),
    reason_code  TEXT NOT NULL,
    created_at   BIGINT NOT NULL,
    updated_at   BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, order_id) REFERENCES orders (tenant_id, id)
);

CREATE TABLE return_lines (
    tenant_id  TEXT NOT NULL,
    return_id  TEXT NOT NULL,
    line_no    BIGINT NOT NULL,
    sku_id     TEXT NOT NULL,
    quantity   BIGINT NOT NULL CHECK (quantity > 0),
    PRIMARY KEY (tenant_id, return_id, line_no),
    FOREIGN KEY (tenant_id, return_id) REFERENCES returns (tenant_id, id),
    FOREIGN KEY (tenant_id, sku_id) REFERENCES skus (tenant_id, id)
);

CREATE TRIGGER stock_movements_no_update BEFORE UPDATE ON stock_movements
BEGIN SELECT RAISE(ABORT, 'stock movements are immutable'); END;
CREATE TRIGGER stock_movements_no_delete BEFORE DELETE ON stock_movements
BEGIN SELECT RAISE(ABORT, 'stock movements are immutable'); END;
