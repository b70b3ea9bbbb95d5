-- Amazon seller authorizations, Amazon order details, the shipment-feedback outbox, order-sync problems.
-- Packages gain the carrier and tracking number the feedback needs.

ALTER TABLE packages ADD COLUMN carrier TEXT;
ALTER TABLE packages ADD COLUMN tracking_number TEXT;

-- Which order lines travel in which package (needed for multi-package shipment feedback).
CREATE TABLE package_items (
    tenant_id    TEXT NOT NULL,
    order_id     TEXT NOT NULL,
    package_seq  BIGINT NOT NULL,
    line_no      BIGINT NOT NULL,
    quantity     BIGINT NOT NULL CHECK (quantity > 0),
    PRIMARY KEY (tenant_id, order_id, package_seq, line_no),
    FOREIGN KEY (tenant_id, order_id, package_seq) REFERENCES packages (tenant_id, order_id, seq),
    FOREIGN KEY (tenant_id, order_id, line_no) REFERENCES order_lines (tenant_id, order_id, line_no)
);

CREATE TABLE amazon_authorizations (
    tenant_id           TEXT NOT NULL REFERENCES tenants (id),
    id                  TEXT NOT NULL,
    selling_partner_id  TEXT NOT NULL,
    -- Comma-separated marketplace ids.
    marketplaces        TEXT NOT NULL,
    lwa_client_id       TEXT NOT NULL,
    -- {"refresh_token","client_secret"} sealed under the tenant data key (AAD: table, column, row).
    secrets_sealed      BYTEA NOT NULL,
    warehouse_id        TEXT NOT NULL,
    pii_recipient       BIGINT NOT NULL CHECK (pii_recipient IN (0, 1)),
    pii_buyer_email     BIGINT NOT NULL CHECK (pii_buyer_email IN (0, 1)),
    status              TEXT NOT NULL CHECK (status IN ('active', 'revoked')),
    revoked_reason      TEXT,
    revoked_at          BIGINT,
    pii_purged_at       BIGINT,
    sync_watermark_ms   BIGINT,
    last_sync_at        BIGINT,
    last_sync_error     TEXT,
    created_at          BIGINT NOT NULL,
    updated_at          BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, id),
    UNIQUE (tenant_id, selling_partner_id),
    FOREIGN KEY (tenant_id, warehouse_id) REFERENCES warehouses (tenant_id, id)
);

-- What Amazon said about an order the sync imported.
CREATE TABLE amazon_orders (
    tenant_id          TEXT NOT NULL,
    order_id           TEXT NOT NULL,
    authorization_id   TEXT NOT NULL,
    amazon_order_id    TEXT NOT NULL,
    marketplace_id     TEXT NOT NULL,
    amazon_status      TEXT NOT NULL,
    last_updated_ms    BIGINT NOT NULL,
    -- A supervisor must look: e.g. cancelled at Amazon after it was dispatched here.
    flag               TEXT,
    PRIMARY KEY (tenant_id, order_id),
    UNIQUE (tenant_id, authorization_id, amazon_order_id),
    FOREIGN KEY (tenant_id, order_id) REFERENCES orders (tenant_id, id),
    FOREIGN KEY (tenant_id, authorization_id) REFERENCES amazon_authorizations (tenant_id, id)
);

-- The shipment-feedback outbox: one row per package, written in the dispatch transaction.
CREATE TABLE amazon_feedback (
    tenant_id          TEXT NOT NULL,
    order_id           TEXT NOT NULL,
    package_seq        BIGINT NOT NULL,
    authorization_id   TEXT NOT NULL,
    amazon_order_id    TEXT NOT NULL,
    -- The confirmShipment body (carrier, tracking number, ship date, items: no PII).
    request_json       TEXT NOT NULL,
    status             TEXT NOT NULL CHECK (status IN ('pending', 'sent', 'confirmed', 'failed', 'handled')),
    reason             TEXT,
    attempts           BIGINT NOT NULL DEFAULT 0,
    next_attempt_at    BIGINT NOT NULL,
    lease_until        BIGINT,
    last_error         TEXT,
    last_request_id    TEXT,
    created_at         BIGINT NOT NULL,
    updated_at         BIGINT NOT NULL,
    confirmed_at       BIGINT,
    PRIMARY KEY (tenant_id, order_id, package_seq),
    CHECK ((status = 'failed') = (reason IS NOT NULL)),
    FOREIGN KEY (tenant_id, order_id, package_seq) REFERENCES packages (tenant_id, order_id, seq),
    FOREIGN KEY (tenant_id, authorization_id) REFERENCES amazon_authorizations (tenant_id, id)
);
CREATE INDEX amazon_feedback_due ON amazon_feedback (tenant_id, status, next_attempt_at);

-- Orders the sync saw but could not import (e.g. an unknown seller SKU); retried on every sync.
CREATE TABLE amazon_sync_problems (
    tenant_id          TEXT NOT NULL,
    authorization_id   TEXT NOT NULL,
    amazon_order_id    TEXT NOT NULL,
    reason             TEXT NOT NULL,
    first_seen         BIGINT NOT NULL,
    last_seen          BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, authorization_id, amazon_order_id),
    FOREIGN KEY (tenant_id, authorization_id) REFERENCES amazon_authorizations (tenant_id, id)
);

DO $$
DECLARE t text;
BEGIN
    FOREACH t IN ARRAY ARRAY['package_items', 'amazon_authorizations', 'amazon_orders', 'amazon_feedback', 'amazon_sync_problems'] LOOP
        EXECUTE format('ALTER TABLE %I ENABLE ROW LEVEL SECURITY', t);
        EXECUTE format('ALTER TABLE %I FORCE ROW LEVEL SECURITY', t);
        EXECUTE format('CREATE POLICY tenant_isolation ON %I
                        USING (tenant_id = current_setting(''app.tenant_id'', true))
                        WITH CHECK (tenant_id = current_setting(''app.tenant_id'', true))', t);
    END LOOP;
END $$;
