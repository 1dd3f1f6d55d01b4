-- name: gold.payment_rollup
-- description: "Distinct orders by payment type × plan with subtotals (ROLLUP): plan NULL = subtotal, payment_type NULL = all types."

-- The ROLLUP's rows summed from the per-month counts of each level (an
-- order falls in one month); the grand total is there even with no
-- payments, as ROLLUP's is.
SELECT payment_type, plan, CAST(sum(orders) AS BIGINT) AS orders
FROM silver.payment_orders_monthly
WHERE level = 'type_plan'
GROUP BY payment_type, plan
UNION ALL
SELECT payment_type, NULL, CAST(sum(orders) AS BIGINT)
FROM silver.payment_orders_monthly
WHERE level = 'type'
GROUP BY payment_type
UNION ALL
SELECT NULL, NULL, CAST(coalesce(sum(orders), 0) AS BIGINT)
FROM silver.payment_orders_monthly
WHERE level = 'all'
