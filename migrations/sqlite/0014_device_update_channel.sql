-- The release channel an admin puts a station on (e.g. a pilot bench on `beta`): the updater
-- manifest offers that channel's releases to the device unless the request names a channel.
-- NULL: the server's default channel (`stable`). No new table: devices keeps its row-level
-- security on PostgreSQL.
ALTER TABLE devices ADD COLUMN update_channel TEXT;
