-- Carrier accounts per tenant (API or self-issue), package bookings, voids, issued numbers, milestones.

CREATE TABLE carrier_accounts (
    tenant_id        TEXT NOT NULL REFERENCES tenants (id),
    carrier          TEXT NOT NULL CHECK (carrier IN ('yamato', 'sagawa')),
    mode             TEXT NOT NULL CHECK (mode IN ('api', 'self_issue')),
    base_url         TEXT,
    customer_code    TEXT,
    -- The API key sealed under the tenant data key (AAD: table, column, row = carrier).
    api_key_sealed   BLOB,
    range_first      BIGINT,
    range_next       BIGINT,
    range_last       BIGINT,
    -- The shipper (the warehouse's own business address, not personal data).
    sender_json      TEXT NOT NULL,
    created_at       BIGINT NOT NULL,
    updated_at       BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, carrier)
);

ALTER TABLE packages ADD COLUMN sorting_code TEXT;
-- The label model (recipient included) sealed; NULL until booked, and again after a void.
ALTER TABLE packages ADD COLUMN label_sealed BLOB;
ALTER TABLE packages ADD COLUMN booked_at BIGINT;
ALTER TABLE packages ADD COLUMN prints BIGINT NOT NULL DEFAULT 0;

-- Every number a self-issue range gave out, so that none is skipped without a record.
CREATE TABLE issued_tracking_numbers (
    tenant_id        TEXT NOT NULL,
    carrier          TEXT NOT NULL,
    tracking_number  TEXT NOT NULL,
    order_id         TEXT,
    package_seq      BIGINT,
    issued_at        BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, carrier, tracking_number),
    FOREIGN KEY (tenant_id, carrier) REFERENCES carrier_accounts (tenant_id, carrier)
);

CREATE TABLE package_voids (
    tenant_id        TEXT NOT NULL,
    order_id         TEXT NOT NULL,
    package_seq      BIGINT NOT NULL,
    carrier          TEXT NOT NULL,
    tracking_number  TEXT NOT NULL,
    reason           TEXT NOT NULL,
    actor            TEXT NOT NULL,
    voided_at        BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, carrier, tracking_number),
    FOREIGN KEY (tenant_id, order_id, package_seq) REFERENCES packages (tenant_id, order_id, seq)
);

CREATE TABLE tracking_events (
    tenant_id        TEXT NOT NULL,
    order_id         TEXT NOT NULL,
    package_seq      BIGINT NOT NULL,
    kind             TEXT NOT NULL,
    at_ms            BIGINT NOT NULL,
    location         TEXT,
    PRIMARY KEY (tenant_id, order_id, package_seq, kind),
    FOREIGN KEY (tenant_id, order_id, package_seq) REFERENCES packages (tenant_id, order_id, seq)
);
