-- name: gold.repeat_customers
-- description: "People (customer_unique_id) with more than one distinct order."
SELECT c.customer_unique_id, count(DISTINCT o.order_id) AS orders
FROM silver.orders o
JOIN silver.customers c ON c.customer_id = o.customer_id
WHERE c.customer_unique_id IS NOT NULL
GROUP BY c.customer_unique_id
HAVING count(DISTINCT o.order_id) > 1
