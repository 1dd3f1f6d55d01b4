-- name: gold.installment_plans
-- description: "Distinct orders paid in installments (payment_installments > 1) and one-time; an order with both counts in both."
-- incremental_by: [plan]
SELECT plan, count(DISTINCT order_id) AS orders
FROM silver.order_payments
GROUP BY plan
