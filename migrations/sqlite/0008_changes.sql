-- The change feed: every change to an order or SKU, numbered per tenant in commit order, for
-- workstations to sync by cursor. `op` is `upsert` today; `delete` is reserved for deletions
-- (retention), which the client treats as tombstones.

CREATE TABLE change_heads (
    tenant_id  TEXT NOT NULL REFERENCES tenants (id),
    seq        BIGINT NOT NULL,
    PRIMARY KEY (tenant_id)
);

CREATE TABLE changes (
    tenant_id  TEXT NOT NULL REFERENCES tenants (id),
    seq        BIGINT NOT NULL,
    entity     TEXT NOT NULL CHECK (entity IN ('order', 'sku')),
    entity_id  TEXT NOT NULL,
    op         TEXT NOT NULL CHECK (op IN ('upsert', 'delete')),
    at_ms      BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, seq)
);
