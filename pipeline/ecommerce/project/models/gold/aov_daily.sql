-- name: gold.aov_daily
-- description: "Average order value per date: the day's revenue / the day's orders (orders, not item rows)."
-- incremental_by: [date]
SELECT date, sum(revenue) / count(DISTINCT order_id) AS aov, count(DISTINCT order_id) AS orders
FROM silver.orders_items
WHERE has_item
GROUP BY date
