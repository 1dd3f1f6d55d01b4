-- name: gold.category_orders_daily
-- description: "Items per date and category."
-- incremental_by: [date]
SELECT date, category, count(*) AS items
FROM silver.orders_items
WHERE has_item
GROUP BY date, category
