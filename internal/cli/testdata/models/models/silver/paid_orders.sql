-- name: silver.paid_orders
-- materialized: view
SELECT * FROM silver.orders WHERE status = 'paid'
