-- name: gold.revenue
SELECT o.order_id, p.value
FROM silver.orders o
JOIN silver.payments p USING (order_id)
