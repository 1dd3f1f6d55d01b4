-- name: gold.orders_by_status
SELECT order_status, count(*) AS orders, min(order_purchase_timestamp) AS first_purchase
FROM silver.orders
GROUP BY order_status
