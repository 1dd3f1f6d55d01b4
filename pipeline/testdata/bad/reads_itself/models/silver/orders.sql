-- name: silver.orders
-- keys: [order_id]
SELECT * FROM bronze.orders UNION ALL SELECT * FROM silver.orders
