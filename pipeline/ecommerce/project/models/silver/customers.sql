-- name: silver.customers
-- description: "Customers; customer_unique_id identifies a person. Cities lower-case, accents stripped."
-- keys: [customer_id]
SELECT
    nullif(trim(customer_id), '') AS customer_id,
    nullif(trim(customer_unique_id), '') AS customer_unique_id,
    nullif(trim(customer_zip_code_prefix), '') AS customer_zip_code_prefix,
    nullif(lower(regexp_replace(strip_accents(trim(customer_city)), '\s+', ' ', 'g')), '') AS customer_city,
    nullif(trim(customer_state), '') AS customer_state,
    _source_file,
    _seq,
    _ingested_at
FROM bronze.customers
