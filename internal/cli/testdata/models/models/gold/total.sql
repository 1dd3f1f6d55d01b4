-- name: gold.total
SELECT sum(revenue) AS revenue, sum(orders) AS orders FROM gold.daily
