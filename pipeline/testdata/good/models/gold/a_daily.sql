-- name: gold.daily
-- description: "Orders per day"
SELECT CAST(order_ts AS DATE) AS date, count(*) AS orders
FROM silver.orders
GROUP BY 1
