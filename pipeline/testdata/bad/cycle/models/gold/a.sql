-- name: gold.a
SELECT * FROM silver.orders UNION ALL SELECT * FROM gold.c
