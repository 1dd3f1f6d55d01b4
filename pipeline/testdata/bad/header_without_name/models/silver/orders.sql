-- description: orders without a name
-- keys: [order_id]
SELECT * FROM bronze.orders
