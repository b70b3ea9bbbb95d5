-- A SKU's barcodes are read in barcode order. With the index on (tenant_id, sku_id) alone, SQLite
-- preferred walking the primary key (tenant_id, barcode) — every barcode of the tenant — to avoid
-- a sort: one such walk per SKU made a bulk load of 75,000 SKUs quadratic. This index serves the
-- filter and the order at once.
DROP INDEX sku_barcodes_sku;
CREATE INDEX sku_barcodes_sku ON sku_barcodes (tenant_id, sku_id, barcode);
