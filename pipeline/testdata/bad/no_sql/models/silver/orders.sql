-- name: silver.orders
-- keys: [order_id]

