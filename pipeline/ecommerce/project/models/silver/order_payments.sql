-- name: silver.order_payments
-- description: "orders ⟕ payments: payments count only for orders that have landed."
-- materialized: view
SELECT
    o.order_id,
    CAST(o.order_purchase_timestamp AS DATE) AS date,
    p.payment_sequential,
    p.payment_type,
    p.payment_installments,
    p.payment_value,
    CASE WHEN p.payment_installments > 1 THEN 'installments' ELSE 'one-time' END AS plan
FROM silver.orders o
JOIN silver.payments p ON p.order_id = o.order_id
