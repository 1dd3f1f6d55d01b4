-- name: gold.customer_segments
-- description: "Customers (people) per date by their spend that day: Low < ${segment_mid_from} ≤ Mid < ${segment_high_from} ≤ High."
-- incremental_by: [date]
WITH spend AS (
    SELECT date, customer_unique_id, sum(revenue) AS spend
    FROM silver.orders_items
    WHERE has_item AND customer_unique_id IS NOT NULL
    GROUP BY date, customer_unique_id
)
SELECT
    date,
    CASE WHEN spend < ${segment_mid_from} THEN 'Low' WHEN spend < ${segment_high_from} THEN 'Mid' ELSE 'High' END AS segment,
    count(*) AS customers
FROM spend
GROUP BY ALL
