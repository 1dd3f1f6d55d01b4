-- name: silver.orders
-- keys: [order_id]
-- incremental: bronze.payments
SELECT * FROM bronze.orders
