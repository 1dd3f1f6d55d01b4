-- name: silver.sellers
-- description: "Sellers, as landed, trimmed."
-- keys: [seller_id]
SELECT
    nullif(trim(seller_id), '') AS seller_id,
    nullif(trim(seller_zip_code_prefix), '') AS seller_zip_code_prefix,
    nullif(trim(seller_city), '') AS seller_city,
    nullif(trim(seller_state), '') AS seller_state,
    _source_file,
    _seq,
    _ingested_at
FROM bronze.sellers
