-- name: gold.item_revenue
SELECT o.order_status, count(*) AS items, round(sum(i.price), 2) AS revenue
FROM silver.orders o JOIN bronze.order_items i ON i.order_id = o.order_id
GROUP BY o.order_status
