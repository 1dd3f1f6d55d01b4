-- name: silver.order_payments
-- description: "orders ⟕ payments: payments count only for orders that have landed. Kept as a table partitioned by the order's purchase month; a run recomputes only the orders its new orders and payments touch (a group is one order, within its month's partition)."
-- incremental_by: [order_year, order_month, order_id]
-- partition_by: [order_year, order_month]
-- properties: {delta.enableChangeDataFeed: "true"}
SELECT
    o.order_id,
    CAST(o.order_purchase_timestamp AS DATE) AS date,
    p.payment_sequential,
    p.payment_type,
    p.payment_installments,
    p.payment_value,
    CASE WHEN p.payment_installments > 1 THEN 'installments' ELSE 'one-time' END AS plan,
    o.order_year,
    o.order_month
FROM silver.orders o
JOIN silver.payments p ON p.order_id = o.order_id
