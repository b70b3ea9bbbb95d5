-- Release channels of the desktop app (design.md, "Updates"): an admin publishes a release on a
-- channel with one artifact per updater platform, rolls it out to a share of the devices and may
-- pause it; the manifest endpoint answers tauri-plugin-updater from these tables.
-- Same logical schema as migrations/postgres/0012_releases.sql (which adds RLS).

CREATE TABLE releases (
    tenant_id        TEXT NOT NULL REFERENCES tenants (id),
    id               TEXT NOT NULL,
    channel          TEXT NOT NULL DEFAULT 'stable',
    -- SemVer text as published (checked by wms-core::release).
    version          TEXT NOT NULL,
    notes            TEXT,
    pub_date         BIGINT NOT NULL,
    rollout_percent  BIGINT NOT NULL CHECK (rollout_percent BETWEEN 0 AND 100),
    paused           BIGINT NOT NULL DEFAULT 0 CHECK (paused IN (0, 1)),
    created_by       TEXT NOT NULL,
    created_at       BIGINT NOT NULL,
    -- Optimistic concurrency for edits: bumped by every change.
    version_check    BIGINT NOT NULL DEFAULT 1,
    PRIMARY KEY (tenant_id, id),
    UNIQUE (tenant_id, channel, version)
);

-- `signature`: the base64 of the artifact's minisign .sig file, as the updater takes it.
CREATE TABLE release_artifacts (
    tenant_id   TEXT NOT NULL,
    release_id  TEXT NOT NULL,
    platform    TEXT NOT NULL,
    url         TEXT NOT NULL CHECK (url LIKE 'https://%'),
    signature   TEXT NOT NULL CHECK (signature <> ''),
    PRIMARY KEY (tenant_id, release_id, platform),
    FOREIGN KEY (tenant_id, release_id) REFERENCES releases (tenant_id, id)
);
