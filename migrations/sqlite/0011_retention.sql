-- Retention and data-subject requests (privacy policy, sections 8 and 11).
-- Same logical schema as migrations/postgres/0011_retention.sql.

-- Per-tenant retention, in days. No row: the policy's defaults (90 and 90).
CREATE TABLE retention_settings (
    tenant_id      TEXT NOT NULL REFERENCES tenants (id),
    business_days  BIGINT NOT NULL DEFAULT 90 CHECK (business_days BETWEEN 30 AND 3650),
    audit_days     BIGINT NOT NULL DEFAULT 90 CHECK (audit_days BETWEEN 30 AND 3650),
    updated_at     BIGINT NOT NULL,
    updated_by     TEXT NOT NULL,
    PRIMARY KEY (tenant_id)
);

-- Where a tenant's audit chain resumes after retention removed its oldest events: the sequence
-- number and hash of the last event removed (see wms-core::audit::Anchor).
CREATE TABLE audit_anchors (
    tenant_id  TEXT NOT NULL REFERENCES tenants (id),
    seq        BIGINT NOT NULL,
    hash       BLOB NOT NULL,
    pruned_at  BIGINT NOT NULL,
    PRIMARY KEY (tenant_id)
);

-- Data-subject requests about one order's recipient. `order_id` has no foreign key: the record
-- of a request outlives the order (retention may delete it). `result` is a summary without PII.
CREATE TABLE data_requests (
    tenant_id     TEXT NOT NULL REFERENCES tenants (id),
    id            TEXT NOT NULL,
    kind          TEXT NOT NULL CHECK (kind IN ('export', 'correct', 'delete')),
    order_id      TEXT NOT NULL,
    requested_by  TEXT NOT NULL,
    reason        TEXT NOT NULL,
    verified_at   BIGINT NOT NULL,
    due_by        BIGINT NOT NULL,
    status        TEXT NOT NULL CHECK (status IN ('open', 'done')),
    done_at       BIGINT,
    result        TEXT,
    created_at    BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, id),
    CHECK (due_by = verified_at + 2592000000),
    CHECK ((status = 'done') = (done_at IS NOT NULL))
);
CREATE INDEX data_requests_created ON data_requests (tenant_id, created_at);

-- The retention job looks for closed orders by last change, and removes or unlinks the rows of
-- each one it deletes (these tables had no index by order).
CREATE INDEX orders_updated ON orders (tenant_id, status, updated_at);
CREATE INDEX returns_order ON returns (tenant_id, order_id);
CREATE INDEX package_voids_order ON package_voids (tenant_id, order_id);
CREATE INDEX issued_tracking_numbers_order ON issued_tracking_numbers (tenant_id, order_id);
