-- name: gold.orders_by_payment_type
-- description: "Distinct orders per payment type (boleto is 'cash'; missing types left out)."

-- Summed from the per-month counts (an order falls in one month).
SELECT payment_type, CAST(sum(orders) AS BIGINT) AS orders
FROM silver.payment_orders_monthly
WHERE level = 'type'
GROUP BY payment_type
