-- name: gold.revenue
SELECT sum(price) AS revenue, count(*) AS items FROM silver.order_items
