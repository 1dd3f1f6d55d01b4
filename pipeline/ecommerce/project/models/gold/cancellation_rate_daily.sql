-- name: gold.cancellation_rate_daily
-- description: "Canceled orders / all orders per date, in percent (orders with or without items)."
-- incremental_by: [date]
SELECT
    CAST(order_purchase_timestamp AS DATE) AS date,
    count(*) FILTER (WHERE order_status = 'canceled') AS canceled_orders,
    count(*) AS orders,
    100 * count(*) FILTER (WHERE order_status = 'canceled') / CAST(count(*) AS DOUBLE) AS cancellation_rate_pct
FROM silver.orders
GROUP BY 1
