-- name: silver.products
-- description: "Products; a missing category is 'unknown'."
-- keys: [product_id]
SELECT
    nullif(trim(product_id), '') AS product_id,
    coalesce(nullif(trim(product_category_name), ''), 'unknown') AS product_category_name,
    _source_file,
    _seq,
    _ingested_at
FROM bronze.products
