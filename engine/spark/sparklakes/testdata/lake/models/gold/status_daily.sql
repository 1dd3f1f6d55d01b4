-- name: gold.status_daily
-- incremental_by: [date]
SELECT date, order_status, count(*) AS orders, count(*) FILTER (WHERE delivered) AS delivered
FROM silver.orders
GROUP BY date, order_status
