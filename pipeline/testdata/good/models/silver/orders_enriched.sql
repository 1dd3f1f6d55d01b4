-- name: silver.orders_enriched
-- materialized: view
SELECT o.*, p.amount AS paid
FROM silver.orders o
LEFT JOIN silver.payments p ON p.order_id = o.order_id
