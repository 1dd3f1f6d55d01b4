-- name: silver.order_status_history
-- description: "Each order's status timeline: a row per milestone reached (purchased, approved, shipped, delivered) from __start_at until the next one (__end_at; NULL: the current status), rewritten as orders land again with new statuses"
-- keys: [order_id]
-- sequence_by: [status_at, milestone]
-- cdc: {scd: 2, except_columns: [status_at, milestone]}
-- incremental: silver.orders
SELECT order_id, order_status, status_at, milestone
FROM (
    -- silver.orders (one row per order, its latest) is read once and each
    -- row crossed with the four milestones (plain SQL: the same runs on
    -- DuckDB and on Spark). A filter on order_id (a run recomputing the
    -- orders it touches) then applies before the rows are multiplied by
    -- four. An order's row is among silver.orders' new rows whenever it
    -- changes (incremental above): a run reads only those.
    SELECT o.order_id,
           CASE m.milestone WHEN 1 THEN 'purchased' WHEN 2 THEN 'approved' WHEN 3 THEN 'shipped' ELSE 'delivered' END AS order_status,
           CASE m.milestone
               WHEN 1 THEN o.order_purchase_timestamp
               WHEN 2 THEN o.order_approved_at
               WHEN 3 THEN o.order_delivered_carrier_date
               ELSE o.order_delivered_customer_date
           END AS status_at,
           m.milestone
    FROM (
        SELECT order_id, order_purchase_timestamp, order_approved_at, order_delivered_carrier_date, order_delivered_customer_date
        FROM silver.orders
    ) AS o
    CROSS JOIN (VALUES (1), (2), (3), (4)) AS m(milestone)
) AS s
WHERE status_at IS NOT NULL AND order_id IS NOT NULL
