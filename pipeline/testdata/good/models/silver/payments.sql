-- name: silver.payments
-- keys: [order_id]
SELECT order_id, amount FROM bronze.payments
