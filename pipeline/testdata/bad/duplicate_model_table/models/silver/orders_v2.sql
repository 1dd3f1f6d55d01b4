-- name: silver.orders
SELECT order_id FROM bronze.orders
