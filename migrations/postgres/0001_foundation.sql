-- Foundation: tenants, their wrapped keys, users, sessions, audit chain, idempotency records.
-- Same logical schema as migrations/sqlite/0001_foundation.sql, plus row-level security.
-- Ids are UUID text, times are milliseconds since the Unix epoch (UTC), secrets and PII are sealed
-- (AES-256-GCM, see wms-core::seal) and never stored in clear.

-- The tenant directory. Not tenant-owned (it is how a tenant is found by name at login and how
-- background workers enumerate tenants), so it holds nothing but the name.
CREATE TABLE tenants (
    id          TEXT PRIMARY KEY,
    name        TEXT NOT NULL UNIQUE,
    demo        BIGINT NOT NULL DEFAULT 0 CHECK (demo IN (0, 1)),
    created_at  BIGINT NOT NULL
);

-- Per-tenant keys (data, blind index, audit HMAC), each wrapped by a master key version.
CREATE TABLE tenant_keys (
    tenant_id       TEXT NOT NULL REFERENCES tenants (id),
    purpose         TEXT NOT NULL CHECK (purpose IN ('data', 'index', 'audit')),
    version         BIGINT NOT NULL,
    wrapped         BYTEA NOT NULL,
    master_version  BIGINT NOT NULL,
    created_at      BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, purpose, version)
);

CREATE TABLE users (
    tenant_id             TEXT NOT NULL REFERENCES tenants (id),
    id                    TEXT NOT NULL,
    email_index           BYTEA NOT NULL,
    email_sealed          BYTEA NOT NULL,
    role                  TEXT NOT NULL CHECK (role IN ('packer', 'supervisor', 'admin')),
    password_hash         TEXT NOT NULL,
    must_change_password  BIGINT NOT NULL CHECK (must_change_password IN (0, 1)),
    totp_sealed           BYTEA,
    totp_pending_sealed   BYTEA,
    totp_last_step        BIGINT,
    failed_logins         BIGINT NOT NULL DEFAULT 0,
    locked_until          BIGINT,
    version               BIGINT NOT NULL DEFAULT 1,
    created_at            BIGINT NOT NULL,
    updated_at            BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, id),
    UNIQUE (tenant_id, email_index)
);

-- A session is one refresh-token family bound to one device.
CREATE TABLE sessions (
    tenant_id          TEXT NOT NULL,
    id                 TEXT NOT NULL,
    user_id            TEXT NOT NULL,
    device             TEXT,
    ip                 TEXT,
    access_hash        BYTEA NOT NULL,
    access_expires_at  BIGINT NOT NULL,
    refresh_expires_at BIGINT NOT NULL,
    mfa_at             BIGINT,
    created_at         BIGINT NOT NULL,
    last_used_at       BIGINT NOT NULL,
    revoked_at         BIGINT,
    revoked_reason     TEXT,
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, user_id) REFERENCES users (tenant_id, id)
);
CREATE UNIQUE INDEX sessions_access ON sessions (tenant_id, access_hash);
CREATE INDEX sessions_user ON sessions (tenant_id, user_id);

-- Every refresh token ever issued in a family: a used one presented again revokes the family.
CREATE TABLE refresh_tokens (
    tenant_id   TEXT NOT NULL,
    token_hash  BYTEA NOT NULL,
    session_id  TEXT NOT NULL,
    issued_at   BIGINT NOT NULL,
    used_at     BIGINT,
    PRIMARY KEY (tenant_id, token_hash),
    FOREIGN KEY (tenant_id, session_id) REFERENCES sessions (tenant_id, id)
);

-- Append-only, hash-chained per tenant (see wms-core::audit).
CREATE TABLE audit_events (
    tenant_id  TEXT NOT NULL REFERENCES tenants (id),
    seq        BIGINT NOT NULL,
    at_ms      BIGINT NOT NULL,
    actor      TEXT NOT NULL,
    action     TEXT NOT NULL,
    target     TEXT,
    ip         TEXT,
    outcome    TEXT NOT NULL,
    detail     TEXT,
    prev_hash  BYTEA NOT NULL,
    hash       BYTEA NOT NULL,
    PRIMARY KEY (tenant_id, seq)
);
-- Flags are BIGINT 0/1 in both backends (one portable representation).
-- (The application role is granted only SELECT and INSERT on audit_events: see grants in wms-server.)

-- The head of each tenant's chain; appends lock it, which serialises them per tenant.
CREATE TABLE audit_heads (
    tenant_id  TEXT PRIMARY KEY REFERENCES tenants (id),
    seq        BIGINT NOT NULL,
    hash       BYTEA NOT NULL
);

-- Responses to requests that carried an Idempotency-Key, sealed (they may hold PII or tokens).
CREATE TABLE idempotency_keys (
    tenant_id        TEXT NOT NULL REFERENCES tenants (id),
    principal        TEXT NOT NULL,
    idem_key         TEXT NOT NULL,
    request_hash     BYTEA NOT NULL,
    status           BIGINT,
    response_sealed  BYTEA,
    created_at       BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, principal, idem_key)
);

-- Row-level security: every tenant-owned table is visible only for the tenant set, per transaction,
-- with set_config('app.tenant_id', ..., true). FORCE applies it to the table owner as well, so a
-- forgotten WHERE returns nothing foreign whoever connects (superusers aside, which the app never is).
DO $$
DECLARE t text;
BEGIN
    FOREACH t IN ARRAY ARRAY['tenant_keys', 'users', 'sessions', 'refresh_tokens', 'audit_events',
                             'audit_heads', 'idempotency_keys'] LOOP
        EXECUTE format('ALTER TABLE %I ENABLE ROW LEVEL SECURITY', t);
        EXECUTE format('ALTER TABLE %I FORCE ROW LEVEL SECURITY', t);
        EXECUTE format('CREATE POLICY tenant_isolation ON %I
                        USING (tenant_id = current_setting(''app.tenant_id'', true))
                        WITH CHECK (tenant_id = current_setting(''app.tenant_id'', true))', t);
    END LOOP;
END $$;
