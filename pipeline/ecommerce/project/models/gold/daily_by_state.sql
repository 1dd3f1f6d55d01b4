-- name: gold.daily_by_state
-- description: "Per purchase date and customer state: revenue and orders with items, all orders and canceled orders (with or without items). The dashboard's tiles and daily charts read it, so they follow the State filter."
-- incremental_by: [date]
SELECT
    date,
    customer_state,
    coalesce(sum(revenue) FILTER (WHERE has_item), 0) AS revenue,
    count(DISTINCT order_id) FILTER (WHERE has_item) AS orders,
    count(DISTINCT order_id) AS all_orders,
    count(DISTINCT order_id) FILTER (WHERE order_status = 'canceled') AS canceled_orders
FROM silver.orders_items
GROUP BY date, customer_state
