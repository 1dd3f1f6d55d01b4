-- name: silver.payment_orders_monthly
-- description: "Distinct orders with payments per purchase month, by level: type_plan (per payment type and plan), type (per payment type), plan (per plan, a missing type included) and all (every order with a payment type). An order falls in one month, so the payment gold tables are sums of these counts; recomputed by month."
-- incremental_by: [order_year, order_month]
SELECT order_year, order_month, 'type_plan' AS level, payment_type, plan, count(DISTINCT order_id) AS orders
FROM silver.order_payments
WHERE payment_type IS NOT NULL
GROUP BY order_year, order_month, payment_type, plan
UNION ALL
SELECT order_year, order_month, 'type', payment_type, NULL, count(DISTINCT order_id)
FROM silver.order_payments
WHERE payment_type IS NOT NULL
GROUP BY order_year, order_month, payment_type
UNION ALL
SELECT order_year, order_month, 'plan', NULL, plan, count(DISTINCT order_id)
FROM silver.order_payments
GROUP BY order_year, order_month, plan
UNION ALL
SELECT order_year, order_month, 'all', NULL, NULL, count(DISTINCT order_id)
FROM silver.order_payments
WHERE payment_type IS NOT NULL
GROUP BY order_year, order_month
