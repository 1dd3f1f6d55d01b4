
-- name: silver.orders
-- keys: [order_id]
-- incremental: bronze.orders
-- expectations:
--   - {name: positive, expr: amount > 0}
--   - {name: has_ts, expr: order_ts IS NOT NULL, action: quarantine}
SELECT
    order_id,
    order_ts,
    amount,
    'see gold.not_a_table' AS note -- and silver.not_a_table either
    /* nor gold.ghost */
FROM bronze.orders;
