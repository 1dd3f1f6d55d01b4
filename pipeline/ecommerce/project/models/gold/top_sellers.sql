-- name: gold.top_sellers
-- description: "Items sold per seller, with the seller's city."
-- incremental_by: [seller_id]
SELECT i.seller_id, s.seller_city, count(*) AS items_sold
FROM silver.orders_items i
LEFT JOIN silver.sellers s ON s.seller_id = i.seller_id
WHERE i.has_item
GROUP BY i.seller_id, s.seller_city
