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

DO $$
DECLARE t text;
BEGIN
    FOREACH t IN ARRAY ARRAY['change_heads', 'changes'] LOOP
        EXECUTE format('ALTER TABLE %I ENABLE ROW LEVEL SECURITY', t);
        EXECUTE format('ALTER TABLE %I FORCE ROW LEVEL SECURITY', t);
        EXECUTE format('CREATE POLICY tenant_isolation ON %I
                        USING (tenant_id = current_setting(''app.tenant_id'', true))
                        WITH CHECK (tenant_id = current_setting(''app.tenant_id'', true))', t);
    END LOOP;
END $$;
