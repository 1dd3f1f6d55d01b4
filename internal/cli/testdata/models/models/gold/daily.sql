-- name: gold.daily
-- incremental_by: [day]

SELECT day, sum(amount) AS revenue, count(*) AS orders
FROM silver.paid_orders
GROUP BY day
