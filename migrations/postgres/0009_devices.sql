-- The device registry: every workstation that has signed in, by the device id it keeps in its
-- keyring. An admin can revoke a device (its sessions end, it can no longer sign in or refresh),
-- ask it to wipe its local cache and keys (carried out and acknowledged by the station at its next
-- contact), and give it a printer profile.

CREATE TABLE devices (
    tenant_id          TEXT NOT NULL REFERENCES tenants (id),
    id                 TEXT NOT NULL,
    -- The name the station gave at login (its hostname).
    name               TEXT,
    first_seen         BIGINT NOT NULL,
    last_seen          BIGINT NOT NULL,
    last_user_id       TEXT,
    revoked_at         BIGINT,
    revoked_by         TEXT,
    wipe_requested_at  BIGINT,
    wipe_requested_by  TEXT,
    wiped_at           BIGINT,
    -- JSON: {"label_printer", "label_format" (zpl203 | zpl300), "document_printer"}.
    printer_profile    TEXT,
    PRIMARY KEY (tenant_id, id)
);

-- Revoking a device revokes its sessions.
CREATE INDEX sessions_device ON sessions (tenant_id, device);

DO $$
DECLARE t text;
BEGIN
    FOREACH t IN ARRAY ARRAY['devices'] LOOP
        EXECUTE format('ALTER TABLE %I ENABLE ROW LEVEL SECURITY', t);
        EXECUTE format('ALTER TABLE %I FORCE ROW LEVEL SECURITY', t);
        EXECUTE format('CREATE POLICY tenant_isolation ON %I
                        USING (tenant_id = current_setting(''app.tenant_id'', true))
                        WITH CHECK (tenant_id = current_setting(''app.tenant_id'', true))', t);
    END LOOP;
END $$;
