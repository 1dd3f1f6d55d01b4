-- name: gold.top_products_daily
-- description: "The top ${top_n} products per date by items sold (ties by product_id)."
-- incremental_by: [date]
SELECT date, rank, product_id, items_sold
FROM (
    SELECT
        date,
        product_id,
        count(*) AS items_sold,
        CAST(row_number() OVER (PARTITION BY date ORDER BY count(*) DESC, product_id ASC NULLS LAST) AS BIGINT) AS rank
    FROM silver.orders_items
    WHERE has_item
    GROUP BY date, product_id
)
WHERE rank <= ${top_n}
