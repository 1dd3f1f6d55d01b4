-- name: silver.items
-- keys: [sku]
SELECT sku, qty, price, _ingested_at, _seq FROM bronze.items
