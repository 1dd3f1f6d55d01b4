-- name: gold.big_orders
SELECT order_id, amount, paid
FROM silver.orders_enriched
WHERE amount >= ${min_amount}
