-- Finding a cached order by its channel order id (the Amazon order id on the pick slip) without
-- opening every cached order: a keyed blind index (HMAC-SHA256 under the cache's index key), like
-- the barcode index, so the channel order id is not in clear. Rows written before this column
-- existed have NULL and are matched by opening them.
ALTER TABLE orders ADD COLUMN ext_tag BLOB;
CREATE INDEX orders_ext_tag ON orders (ext_tag);
