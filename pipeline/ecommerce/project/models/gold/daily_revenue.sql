-- name: gold.daily_revenue
-- description: "Revenue and orders (with items) per purchase date."
-- incremental_by: [date]
SELECT date, sum(revenue) AS revenue, count(DISTINCT order_id) AS orders
FROM silver.orders_items
WHERE has_item
GROUP BY date
