-- name: gold.top_products
-- description: "Every product sold, with items sold and revenue (rank by items_sold)."
-- incremental_by: [product_id]
SELECT product_id, category, count(*) AS items_sold, sum(revenue) AS revenue
FROM silver.orders_items
WHERE has_item
GROUP BY product_id, category
