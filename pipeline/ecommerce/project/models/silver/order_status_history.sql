-- name: silver.order_status_history
-- description: "Each order's status timeline: a row per milestone reached (purchased, approved, shipped, delivered) from __start_at until the next one (__end_at; NULL: the current status), rewritten as orders land again with new statuses"
-- keys: [order_id]
-- sequence_by: [status_at, milestone]
-- cdc: {scd: 2, except_columns: [status_at, milestone]}
SELECT order_id, s.order_status, s.status_at, s.milestone
FROM (
    SELECT nullif(trim(order_id), '') AS order_id,
           unnest([
               {'order_status': 'purchased', 'status_at': order_purchase_timestamp, 'milestone': 1},
               {'order_status': 'approved', 'status_at': order_approved_at, 'milestone': 2},
               {'order_status': 'shipped', 'status_at': order_delivered_carrier_date, 'milestone': 3},
               {'order_status': 'delivered', 'status_at': order_delivered_customer_date, 'milestone': 4}
           ]) AS s
    FROM bronze.orders
)
WHERE s.status_at IS NOT NULL AND order_id IS NOT NULL
