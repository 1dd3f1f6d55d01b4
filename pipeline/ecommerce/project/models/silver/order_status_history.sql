-- name: silver.order_status_history
-- description: "Each order's status timeline: a row per milestone reached (purchased, approved, shipped, delivered) from __start_at until the next one (__end_at; NULL: the current status), rewritten as orders land again with new statuses"
-- keys: [order_id]
-- sequence_by: [status_at, milestone]
-- cdc: {scd: 2, except_columns: [status_at, milestone]}
SELECT order_id, order_status, status_at, milestone
FROM (
    -- One row per milestone reached, as a UNION ALL of plain SELECTs: the
    -- same SQL runs on DuckDB and on Spark.
    SELECT nullif(trim(order_id), '') AS order_id, 'purchased' AS order_status, order_purchase_timestamp AS status_at, 1 AS milestone FROM bronze.orders
    UNION ALL
    SELECT nullif(trim(order_id), ''), 'approved', order_approved_at, 2 FROM bronze.orders
    UNION ALL
    SELECT nullif(trim(order_id), ''), 'shipped', order_delivered_carrier_date, 3 FROM bronze.orders
    UNION ALL
    SELECT nullif(trim(order_id), ''), 'delivered', order_delivered_customer_date, 4 FROM bronze.orders
) AS s
WHERE status_at IS NOT NULL AND order_id IS NOT NULL
