-- name: gold.payment_rollup
-- description: "Distinct orders by payment type × plan with subtotals (ROLLUP): plan NULL = subtotal, payment_type NULL = all types."
SELECT payment_type, plan, count(DISTINCT order_id) AS orders
FROM silver.order_payments
WHERE payment_type IS NOT NULL
GROUP BY ROLLUP (payment_type, plan)
