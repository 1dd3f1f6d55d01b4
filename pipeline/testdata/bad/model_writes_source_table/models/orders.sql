-- name: bronze.orders
SELECT 1 AS x
