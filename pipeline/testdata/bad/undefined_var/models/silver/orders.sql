-- name: silver.orders
-- keys: [order_id]
SELECT * FROM bronze.orders
