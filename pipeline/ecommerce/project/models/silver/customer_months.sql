-- name: silver.customer_months
-- description: "People (customer_unique_id) by the purchase month of their orders, with the month's distinct orders (order_year and order_month NULL: orders without a purchase time) — what gold.cohort_retention and gold.repeat_customers aggregate, recomputed by month from silver.orders_items, whose rows already name their person."
-- incremental_by: [order_year, order_month]
-- partition_by: [order_year, order_month]
-- properties: {delta.enableChangeDataFeed: "true"}

-- silver.orders_items holds every order (once per item, once when it has
-- none) with its person already joined: a month is recomputed from that
-- month's partition, not by looking its orders' customers up among all of
-- silver.customers (130 ms at SF10 for each month touched).
SELECT order_year, order_month, customer_unique_id, count(DISTINCT order_id) AS orders
FROM silver.orders_items
WHERE customer_unique_id IS NOT NULL
GROUP BY order_year, order_month, customer_unique_id
