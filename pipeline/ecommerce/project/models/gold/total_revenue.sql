-- name: gold.total_revenue
-- description: "Total revenue (price + freight of every item), orders with items, and item count."
SELECT sum(revenue) AS revenue, count(DISTINCT order_id) AS orders, count(*) AS items
FROM silver.orders_items
WHERE has_item
