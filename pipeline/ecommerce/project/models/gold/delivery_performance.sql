-- name: gold.delivery_performance
-- description: "Delivered orders per customer state: average days from purchase to delivery and the share delivered after the estimated date (a delivery on the estimated day is on time)."

-- Summed from silver.delivery_monthly (an order falls in one month), so a
-- run that adds a month's orders recomputes that month there, not every
-- delivered order here.
SELECT
    customer_state,
    CAST(sum(delivered_orders) AS BIGINT) AS delivered_orders,
    sum(delivery_days) / sum(delivered_orders) AS avg_delivery_days,
    100 * sum(late_orders) / CAST(sum(delivered_orders) AS DOUBLE) AS late_pct
FROM silver.delivery_monthly
GROUP BY customer_state
