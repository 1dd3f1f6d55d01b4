-- name: silver.orders
-- keys: [order_id]
-- incremental: bronze.orders
-- expectations:
--   - name: amount_known
--     expr: amount IS NOT NULL
SELECT order_id, day, amount * ${fx} AS amount, status
FROM bronze.orders
WHERE status <> 'test'
