-- name: silver.orders
SELECT order_id, customer_id, order_status, order_purchase_timestamp
FROM bronze.orders
WHERE order_status IS NOT NULL
