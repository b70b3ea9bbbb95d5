-- A SKU's barcodes are read in barcode order: one index for the filter and the order (as on
-- SQLite, where the narrower index made the planner walk every barcode of the tenant).
DROP INDEX sku_barcodes_sku;
CREATE INDEX sku_barcodes_sku ON sku_barcodes (tenant_id, sku_id, barcode);
