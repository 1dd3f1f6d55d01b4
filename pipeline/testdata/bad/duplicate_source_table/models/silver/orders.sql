-- name: silver.orders
SELECT * FROM bronze.orders
