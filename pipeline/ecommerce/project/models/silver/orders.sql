-- name: silver.orders
-- description: "Orders, typed and cleaned, one row per order_id. Missing status → 'unavailable'."
-- keys: [order_id]
-- incremental: bronze.orders
-- partition_by: [order_year, order_month]
-- backfill_date: CAST(order_purchase_timestamp AS DATE)
-- expectations:
--   - name: has_purchase_timestamp
--     expr: order_purchase_timestamp IS NOT NULL
--     action: warn
--   - name: known_status
--     expr: order_status IN ('delivered', 'shipped', 'canceled', 'unavailable', 'invoiced', 'processing', 'created', 'approved')
--     action: warn
SELECT
    nullif(trim(order_id), '') AS order_id,
    nullif(trim(customer_id), '') AS customer_id,
    coalesce(nullif(trim(order_status), ''), 'unavailable') AS order_status,
    order_purchase_timestamp,
    order_approved_at,
    order_delivered_carrier_date,
    order_delivered_customer_date,
    order_estimated_delivery_date,
    order_year,
    order_month,
    _source_file,
    _seq,
    _ingested_at
FROM bronze.orders
