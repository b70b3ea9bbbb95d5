-- Carrier accounts an admin can edit (rotate the API key, change the label, the endpoint, the
-- customer code, the printed sender) and disable: a disabled account books no new label, while
-- the packages booked with it keep their labels, tracking and voids (tracking is still polled).
-- An account is removed only while nothing was ever booked or issued with it.
-- No new table: carrier_accounts keeps its row-level security on PostgreSQL.

-- A name the admin gives the account (「本社契約」), shown in the Connections screen.
ALTER TABLE carrier_accounts ADD COLUMN label TEXT;
-- NULL while enabled; when it was disabled otherwise.
ALTER TABLE carrier_accounts ADD COLUMN disabled_at BIGINT;
