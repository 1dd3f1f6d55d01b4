-- name: silver.orders
-- materialized: ephemeral
SELECT * FROM bronze.orders
