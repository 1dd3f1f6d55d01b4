-- name: gold.order_status_durations
-- description: "Per purchase month: orders, and the median hours from purchase to approval, to the carrier and to delivery (orders that reached the milestone)"
WITH t AS (
    SELECT order_id,
           min(__start_at) FILTER (WHERE order_status = 'purchased') AS purchased,
           min(__start_at) FILTER (WHERE order_status = 'approved') AS approved,
           min(__start_at) FILTER (WHERE order_status = 'shipped') AS shipped,
           min(__start_at) FILTER (WHERE order_status = 'delivered') AS delivered
    FROM silver.order_status_history
    GROUP BY order_id
)
-- Medians are taken in seconds and rounded to hundredths of an hour from
-- there (round(seconds / 36) / 100): a tie then rounds the same way on every
-- engine, where rounding hours computed in floating point does not.
SELECT CAST(date_trunc('month', purchased) AS DATE) AS purchase_month,
       count(*) AS orders,
       round(median(epoch(approved) - epoch(purchased)) / 36.0) / 100.0 AS median_hours_to_approval,
       round(median(epoch(shipped) - epoch(purchased)) / 36.0) / 100.0 AS median_hours_to_carrier,
       round(median(epoch(delivered) - epoch(purchased)) / 36.0) / 100.0 AS median_hours_to_delivery
FROM t
WHERE purchased IS NOT NULL
GROUP BY ALL
