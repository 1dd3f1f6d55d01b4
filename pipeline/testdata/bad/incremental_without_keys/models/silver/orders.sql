-- name: silver.orders
-- incremental: bronze.orders
SELECT * FROM bronze.orders
