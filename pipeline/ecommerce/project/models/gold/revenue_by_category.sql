-- name: gold.revenue_by_category
-- description: "Revenue and items by product category (English name where translated)."
-- incremental_by: [category]
SELECT category, sum(revenue) AS revenue, count(*) AS items
FROM silver.orders_items
WHERE has_item
GROUP BY category
