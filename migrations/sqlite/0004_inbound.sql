-- Expected inbound shipments (ASN): what a supplier announced, and how much of it has arrived.

CREATE TABLE inbound_shipments (
    tenant_id     TEXT NOT NULL,
    id            TEXT NOT NULL,
    warehouse_id  TEXT NOT NULL,
    reference     TEXT NOT NULL,
    expected_on   TEXT,
    status        TEXT NOT NULL CHECK (status IN ('open', 'received')),
    created_at    BIGINT NOT NULL,
    updated_at    BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, id),
    UNIQUE (tenant_id, reference),
    FOREIGN KEY (tenant_id, warehouse_id) REFERENCES warehouses (tenant_id, id)
);

CREATE TABLE inbound_lines (
    tenant_id     TEXT NOT NULL,
    inbound_id    TEXT NOT NULL,
    line_no       BIGINT NOT NULL,
    sku_id        TEXT NOT NULL,
    expected_qty  BIGINT NOT NULL CHECK (expected_qty > 0),
    received_qty  BIGINT NOT NULL DEFAULT 0 CHECK (received_qty >= 0),
    PRIMARY KEY (tenant_id, inbound_id, line_no),
    FOREIGN KEY (tenant_id, inbound_id) REFERENCES inbound_shipments (tenant_id, id),
    FOREIGN KEY (tenant_id, sku_id) REFERENCES skus (tenant_id, id)
);
