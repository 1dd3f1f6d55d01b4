-- name: silver.delivery_monthly
-- description: "Delivered orders per purchase month and customer state: their count, the sum of their days from purchase to delivery and how many were delivered after the estimated date — the sums gold.delivery_performance adds up; recomputed by month."
-- incremental_by: [order_year, order_month]
SELECT
    o.order_year,
    o.order_month,
    c.customer_state,
    count(*) AS delivered_orders,
    -- epoch(ts): seconds since 1970 as a DOUBLE (DuckDB's own; the spark engine defines it).
    sum((epoch(o.order_delivered_customer_date) - epoch(o.order_purchase_timestamp)) / 86400.0) AS delivery_days,
    -- Late = delivered on a later calendar DATE than the estimated one; the
    -- estimate is a date, so a delivery during the estimated day is on time.
    count(*) FILTER (WHERE CAST(o.order_delivered_customer_date AS DATE) > CAST(o.order_estimated_delivery_date AS DATE)) AS late_orders
FROM silver.orders o
LEFT JOIN silver.customers c ON c.customer_id = o.customer_id
WHERE o.order_status = 'delivered'
  AND o.order_delivered_customer_date IS NOT NULL
  AND o.order_purchase_timestamp IS NOT NULL
GROUP BY o.order_year, o.order_month, c.customer_state
