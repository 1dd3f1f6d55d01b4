-- name: gold.installment_plans
-- description: "Distinct orders paid in installments (payment_installments > 1) and one-time; an order with both counts in both."

-- Summed from the per-month counts (an order falls in one month), not
-- counted over every payment again.
SELECT plan, CAST(sum(orders) AS BIGINT) AS orders
FROM silver.payment_orders_monthly
WHERE level = 'plan'
GROUP BY plan
