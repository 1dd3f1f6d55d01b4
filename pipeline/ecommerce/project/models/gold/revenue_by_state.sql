-- name: gold.revenue_by_state
-- description: "Revenue per date, customer state and city (accents stripped)."
-- incremental_by: [date]
SELECT date, customer_state, customer_city, sum(revenue) AS revenue
FROM silver.orders_items
WHERE has_item
GROUP BY date, customer_state, customer_city
