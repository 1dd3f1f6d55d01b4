-- name: silver.category_translation
-- description: "Portuguese → English category names."
-- keys: [product_category_name]
SELECT
    nullif(trim(product_category_name), '') AS product_category_name,
    nullif(trim(product_category_name_english), '') AS product_category_name_english,
    _source_file,
    _seq,
    _ingested_at
FROM bronze.category_translation
