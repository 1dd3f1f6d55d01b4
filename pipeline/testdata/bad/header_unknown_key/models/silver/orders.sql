-- name: silver.orders
-- key: [order_id]
SELECT * FROM bronze.orders
