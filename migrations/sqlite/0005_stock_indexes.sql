-- Indexes for stock queries by location code and by expiry, and for balances by batch.
CREATE INDEX locations_code ON locations (tenant_id, code);
CREATE INDEX batches_expiry ON batches (tenant_id, expiry);
CREATE INDEX stock_balances_batch ON stock_balances (tenant_id, batch_key);
