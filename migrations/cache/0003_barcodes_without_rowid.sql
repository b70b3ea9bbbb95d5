-- The barcode index keyed by its tag alone (WITHOUT ROWID): one B-tree instead of a rowid table plus
-- its primary-key index. Tags are HMAC outputs, so they arrive in random order; with two trees
-- each insert touched both (the sealed SKU write path was 2.8× the plain one at 50,000 SKUs).
CREATE TABLE barcodes_by_tag (
    tag BLOB PRIMARY KEY NOT NULL,
    sku_id TEXT NOT NULL
) WITHOUT ROWID;
INSERT INTO barcodes_by_tag (tag, sku_id) SELECT tag, sku_id FROM barcodes;
DROP TABLE barcodes;
ALTER TABLE barcodes_by_tag RENAME TO barcodes;
CREATE INDEX barcodes_sku ON barcodes (sku_id);
