-- name: silver.orders
-- keys: [order_id]
-- expectations:
--   - {name: has_id, expr: order_id IS NOT NULL, action: explode}
SELECT * FROM bronze.orders
