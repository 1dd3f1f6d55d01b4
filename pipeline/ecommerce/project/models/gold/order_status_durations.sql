-- name: gold.order_status_durations
-- description: "Per purchase month: orders, and the median hours from purchase to approval, to the carrier and to delivery (orders that reached the milestone)"
-- incremental_by: [purchase_month]

-- The milestones of silver.order_status_history are the order's own
-- timestamps (its latest row in silver.orders): read there, a month is one
-- partition of silver.orders, so a run recomputes only the months its
-- changed orders fall in (medians do not add up across months).
-- Medians are taken in seconds and rounded to hundredths of an hour from
-- there (round(seconds / 36) / 100): a tie then rounds the same way on every
-- engine, where rounding hours computed in floating point does not.
SELECT make_date(order_year, order_month, 1) AS purchase_month,
       count(*) AS orders,
       round(median(epoch(order_approved_at) - epoch(order_purchase_timestamp)) / 36.0) / 100.0 AS median_hours_to_approval,
       round(median(epoch(order_delivered_carrier_date) - epoch(order_purchase_timestamp)) / 36.0) / 100.0 AS median_hours_to_carrier,
       round(median(epoch(order_delivered_customer_date) - epoch(order_purchase_timestamp)) / 36.0) / 100.0 AS median_hours_to_delivery
FROM silver.orders
WHERE order_purchase_timestamp IS NOT NULL AND order_id IS NOT NULL
GROUP BY ALL
