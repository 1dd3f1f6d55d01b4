-- name: gold.top
SELECT * FROM silver.orders ORDER BY order_id LIMIT ${top_m}
