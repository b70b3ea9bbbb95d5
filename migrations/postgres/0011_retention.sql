-- Retention and data-subject requests (privacy policy, sections 8 and 11).
-- Same logical schema as migrations/sqlite/0011_retention.sql, plus row-level security and the
-- audit pruning function below.

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
    hash       BYTEA NOT NULL,
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

-- Removing expired audit events. The application role may only read and append to audit_events
-- and only read audit_anchors (see the grants in wms-server's db.rs); this function, owned by the
-- migration role, is its one way to remove events: only the current tenant's, only events
-- recorded before the cutoff, never the newest event, and always the whole prefix up to the last
-- one removed, whose seq and hash become the chain's anchor. So events can still not be altered
-- or removed from the middle of the chain; the retention period itself (at least 30 days) is
-- enforced by the server (wms-core::retention). Row-level security still applies (FORCE).
CREATE FUNCTION prune_audit_events(p_before_ms BIGINT) RETURNS BIGINT
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
    t          TEXT := current_setting('app.tenant_id', true);
    head_seq   BIGINT;
    last_seq   BIGINT;
    last_hash  BYTEA;
    n          BIGINT;
BEGIN
    IF t IS NULL OR t = '' THEN
        RAISE EXCEPTION 'prune_audit_events: no tenant in this transaction';
    END IF;
    SELECT seq INTO head_seq FROM audit_heads WHERE tenant_id = t FOR UPDATE;
    IF head_seq IS NULL THEN
        RETURN 0;
    END IF;
    SELECT seq, hash INTO last_seq, last_hash FROM audit_events
     WHERE tenant_id = t AND at_ms < p_before_ms AND seq < head_seq
     ORDER BY seq DESC LIMIT 1;
    IF last_seq IS NULL THEN
        RETURN 0;
    END IF;
    DELETE FROM audit_events WHERE tenant_id = t AND seq <= last_seq;
    GET DIAGNOSTICS n = ROW_COUNT;
    INSERT INTO audit_anchors (tenant_id, seq, hash, pruned_at)
    VALUES (t, last_seq, last_hash, (extract(epoch FROM clock_timestamp()) * 1000)::BIGINT)
    ON CONFLICT (tenant_id) DO UPDATE SET seq = excluded.seq, hash = excluded.hash, pruned_at = excluded.pruned_at;
    RETURN n;
END $$;
REVOKE ALL ON FUNCTION prune_audit_events(BIGINT) FROM PUBLIC;

DO $$
DECLARE t text;
BEGIN
    FOREACH t IN ARRAY ARRAY['retention_settings', 'audit_anchors', 'data_requests'] LOOP
        EXECUTE format('ALTER TABLE %I ENABLE ROW LEVEL SECURITY', t);
        EXECUTE format('ALTER TABLE %I FORCE ROW LEVEL SECURITY', t);
        EXECUTE format('CREATE POLICY tenant_isolation ON %I
                        USING (tenant_id = current_setting(''app.tenant_id'', true))
                        WITH CHECK (tenant_id = current_setting(''app.tenant_id'', true))', t);
    END LOOP;
END $$;
