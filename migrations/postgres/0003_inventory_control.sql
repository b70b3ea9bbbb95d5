-- Inventory control: adjustments above a threshold wait for a second supervisor; cycle counts go
-- open → counted (variance recorded) → approved (a count movement is posted) or rejected.

CREATE TABLE adjustment_requests (
    tenant_id     TEXT NOT NULL,
    id            TEXT NOT NULL,
    sku_id        TEXT NOT NULL,
    location_id   TEXT NOT NULL,
    batch_key     TEXT NOT NULL,
    delta         BIGINT NOT NULL CHECK (delta <> 0),
    reason_code   TEXT NOT NULL,
    status        TEXT NOT NULL CHECK (status IN ('pending', 'approved', 'rejected')),
    requested_by  TEXT NOT NULL,
    requested_at  BIGINT NOT NULL,
    decided_by    TEXT,
    decided_at    BIGINT,
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, sku_id) REFERENCES skus (tenant_id, id),
    FOREIGN KEY (tenant_id, location_id) REFERENCES locations (tenant_id, id)
);

CREATE TABLE count_tasks (
    tenant_id    TEXT NOT NULL,
    id           TEXT NOT NULL,
    sku_id       TEXT NOT NULL,
    location_id  TEXT NOT NULL,
    batch_key    TEXT NOT NULL,
    status       TEXT NOT NULL CHECK (status IN ('open', 'counted', 'approved', 'rejected')),
    expected     BIGINT,
    counted      BIGINT CHECK (counted >= 0),
    created_by   TEXT NOT NULL,
    counted_by   TEXT,
    decided_by   TEXT,
    created_at   BIGINT NOT NULL,
    updated_at   BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, sku_id) REFERENCES skus (tenant_id, id),
    FOREIGN KEY (tenant_id, location_id) REFERENCES locations (tenant_id, id)
);

DO $$
DECLARE t text;
BEGIN
    FOREACH t IN ARRAY ARRAY['adjustment_requests', 'count_tasks'] LOOP
        EXECUTE format('ALTER TABLE %I ENABLE ROW LEVEL SECURITY', t);
        EXECUTE format('ALTER TABLE %I FORCE ROW LEVEL SECURITY', t);
        EXECUTE format('CREATE POLICY tenant_isolation ON %I
                        USING (tenant_id = current_setting(''app.tenant_id'', true))
                        WITH CHECK (tenant_id = current_setting(''app.tenant_id'', true))', t);
    END LOOP;
END $$;
