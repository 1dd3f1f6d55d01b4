-- name: silver.orders
-- expectations:
--   - {name: has_id, expr: order_id IS NOT NULL}
--   - {name: has_id, expr: order_id <> ''}
SELECT * FROM bronze.orders
