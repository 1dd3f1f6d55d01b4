-- name: gold.total_revenue
-- description: "Total revenue (price + freight of every item), orders with items, and item count: sums of the daily tables."
SELECT
    (SELECT sum(revenue) FROM gold.daily_revenue) AS revenue,
    (SELECT CAST(coalesce(sum(orders), 0) AS BIGINT) FROM gold.daily_revenue) AS orders,
    (SELECT CAST(coalesce(sum(items), 0) AS BIGINT) FROM gold.category_orders_daily) AS items
