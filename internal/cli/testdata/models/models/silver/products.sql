-- name: silver.products
-- keys: [product_id]
SELECT product_id, upper(name) AS name FROM bronze.products
