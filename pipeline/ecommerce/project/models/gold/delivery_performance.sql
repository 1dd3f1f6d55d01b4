-- name: gold.delivery_performance
-- description: "Delivered orders per customer state: average days from purchase to delivery and the share delivered after the estimated date (a delivery on the estimated day is on time)."
-- incremental_by: [customer_state]
SELECT
    c.customer_state,
    count(*) AS delivered_orders,
    -- epoch(ts): seconds since 1970 as a DOUBLE (DuckDB's own; the spark engine defines it).
    avg((epoch(o.order_delivered_customer_date) - epoch(o.order_purchase_timestamp)) / 86400.0) AS avg_delivery_days,
    -- Late = delivered on a later calendar DATE than the estimated one; the
    -- estimate is a date, so a delivery during the estimated day is on time.
    100 * count(*) FILTER (WHERE CAST(o.order_delivered_customer_date AS DATE) > CAST(o.order_estimated_delivery_date AS DATE)) / CAST(count(*) AS DOUBLE) AS late_pct
FROM silver.orders o
LEFT JOIN silver.customers c ON c.customer_id = o.customer_id
WHERE o.order_status = 'delivered'
  AND o.order_delivered_customer_date IS NOT NULL
  AND o.order_purchase_timestamp IS NOT NULL
GROUP BY c.customer_state
