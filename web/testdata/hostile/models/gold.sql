-- name: gold.stock
SELECT count(*) AS skus, sum(qty) AS qty FROM silver.items
