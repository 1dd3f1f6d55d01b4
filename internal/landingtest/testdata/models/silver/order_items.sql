-- name: silver.order_items
-- description: "Order items; a missing price → 0.0 (so a file without the price column must never reach this model)."
SELECT
    order_id,
    order_item_id,
    coalesce(price, 0.0) AS price,
    _source_file
FROM bronze.order_items
WHERE order_id IS NOT NULL
