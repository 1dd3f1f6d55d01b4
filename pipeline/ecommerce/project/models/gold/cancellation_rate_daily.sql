-- name: gold.cancellation_rate_daily
-- description: "Canceled orders / all orders per date, in percent (orders with or without items)."
-- incremental_by: [date]

-- silver.orders_items holds every order (once per item, once when it has
-- none) with its purchase date stored: a run's touched dates then reach
-- that table's files (their date statistics) instead of every order's
-- timestamp.
SELECT
    date,
    count(DISTINCT order_id) FILTER (WHERE order_status = 'canceled') AS canceled_orders,
    count(DISTINCT order_id) AS orders,
    100 * count(DISTINCT order_id) FILTER (WHERE order_status = 'canceled') / CAST(count(DISTINCT order_id) AS DOUBLE) AS cancellation_rate_pct
FROM silver.orders_items
GROUP BY date
