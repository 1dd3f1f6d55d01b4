-- name: gold.repeat_customers
-- description: "People (customer_unique_id) with more than one distinct order."
-- incremental_by: [customer_unique_id]

-- An order falls in one month: a person's distinct orders are the sum of
-- their months' (silver.customer_months). A run recomputes only the people
-- whose months changed: their rows of silver.customer_months, read first,
-- decide their sum and whether HAVING keeps them.
SELECT customer_unique_id, CAST(sum(orders) AS BIGINT) AS orders
FROM silver.customer_months
GROUP BY customer_unique_id
HAVING sum(orders) > 1
