-- name: silver.geo_revenue
-- description: "order items with revenue ⟕ geolocation on the customer's zip prefix."
-- materialized: view
SELECT l.*, g.geolocation_city, g.geolocation_state
FROM silver.orders_items l
LEFT JOIN silver.customers c ON c.customer_id = l.customer_id
LEFT JOIN silver.geolocation g ON g.geolocation_zip_code_prefix = c.customer_zip_code_prefix
WHERE l.has_item
