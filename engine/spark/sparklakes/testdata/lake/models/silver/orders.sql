-- name: silver.orders
-- keys: [order_id]
-- incremental: bronze.orders
SELECT order_id, customer_id, order_status, CAST(order_purchase_timestamp AS DATE) AS date,
       order_delivered_customer_date IS NOT NULL AS delivered
FROM bronze.orders
