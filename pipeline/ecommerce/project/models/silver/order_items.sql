-- name: silver.order_items
-- description: "Order items; missing price and freight → 0.0. Incremental by landed file."
-- keys: [order_id, order_item_id]
-- incremental: bronze.order_items
-- expectations:
--   - name: non_negative_price
--     expr: price >= 0 AND freight_value >= 0
--     action: warn
SELECT
    nullif(trim(order_id), '') AS order_id,
    order_item_id,
    nullif(trim(product_id), '') AS product_id,
    nullif(trim(seller_id), '') AS seller_id,
    coalesce(price, 0.0) AS price,
    coalesce(freight_value, 0.0) AS freight_value,
    _source_file,
    _seq,
    _ingested_at
FROM bronze.order_items
