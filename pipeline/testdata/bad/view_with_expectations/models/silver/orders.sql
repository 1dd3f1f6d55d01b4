-- name: silver.orders
-- materialized: view
-- expectations:
--   - {name: has_id, expr: order_id IS NOT NULL}
SELECT * FROM bronze.orders
