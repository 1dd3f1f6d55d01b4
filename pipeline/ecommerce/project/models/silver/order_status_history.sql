-- name: silver.order_status_history
-- description: "Each order's status timeline: a row per milestone reached (purchased, approved, shipped, delivered) from __start_at until the next one (__end_at; NULL: the current status), rewritten as orders land again with new statuses"
-- keys: [order_id]
-- sequence_by: [status_at, milestone]
-- cdc: {scd: 2, except_columns: [status_at, milestone]}
WITH o AS (
    -- bronze.orders is read once, then its four timestamps are unpivoted by
    -- a UNION ALL of plain SELECTs: the same SQL runs on DuckDB and on Spark.
    SELECT nullif(trim(order_id), '') AS order_id, order_purchase_timestamp, order_approved_at, order_delivered_carrier_date, order_delivered_customer_date
    FROM bronze.orders
)
SELECT order_id, order_status, status_at, milestone
FROM (
    SELECT order_id, 'purchased' AS order_status, order_purchase_timestamp AS status_at, 1 AS milestone FROM o
    UNION ALL
    SELECT order_id, 'approved', order_approved_at, 2 FROM o
    UNION ALL
    SELECT order_id, 'shipped', order_delivered_carrier_date, 3 FROM o
    UNION ALL
    SELECT order_id, 'delivered', order_delivered_customer_date, 4 FROM o
) AS s
WHERE status_at IS NOT NULL AND order_id IS NOT NULL
