-- name: silver.customers_history
-- description: "SCD type 2 of customers: a version per change of a customer's address, as customers.csv is replaced (__start_at/__end_at: when the snapshot that showed or ended it was ingested)"
-- keys: [customer_id]
-- sequence_by: [_ingested_at]
-- cdc: {scd: 2, snapshot: true, except_columns: [_ingested_at]}
SELECT customer_id, customer_unique_id, customer_zip_code_prefix, customer_city, customer_state, _ingested_at
FROM silver.customers
