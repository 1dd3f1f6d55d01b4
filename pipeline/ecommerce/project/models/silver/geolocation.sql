-- name: silver.geolocation
-- description: "One row per zip prefix; city lower-case with accents stripped (lat/lng dropped)."
-- keys: [geolocation_zip_code_prefix]
SELECT
    nullif(trim(geolocation_zip_code_prefix), '') AS geolocation_zip_code_prefix,
    nullif(lower(regexp_replace(strip_accents(trim(geolocation_city)), '\s+', ' ', 'g')), '') AS geolocation_city,
    nullif(trim(geolocation_state), '') AS geolocation_state,
    _source_file,
    _seq,
    _ingested_at
FROM bronze.geolocation
