-- name: gold.orders_by_payment_type
-- description: "Distinct orders per payment type (boleto is 'cash'; missing types left out)."
-- incremental_by: [payment_type]
SELECT payment_type, count(DISTINCT order_id) AS orders
FROM silver.order_payments
WHERE payment_type IS NOT NULL
GROUP BY payment_type
