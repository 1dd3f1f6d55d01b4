-- name: silver.customer_months
-- description: "People (customer_unique_id) by the purchase month of their orders, with the month's distinct orders (order_year and order_month NULL: orders without a purchase time) — what gold.cohort_retention and gold.repeat_customers aggregate, recomputed by month instead of joining every order with its customer again."
-- incremental_by: [order_year, order_month]
-- partition_by: [order_year, order_month]
-- properties: {delta.enableChangeDataFeed: "true"}
SELECT o.order_year, o.order_month, c.customer_unique_id, count(DISTINCT o.order_id) AS orders
FROM silver.orders o
JOIN silver.customers c ON c.customer_id = o.customer_id
WHERE c.customer_unique_id IS NOT NULL
GROUP BY o.order_year, o.order_month, c.customer_unique_id
