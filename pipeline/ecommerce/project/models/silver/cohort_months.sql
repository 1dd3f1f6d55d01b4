-- name: silver.cohort_months
-- description: "People (customer_unique_id) by the purchase month of their orders (order_year, order_month), with their cohort (cohort_month, from silver.customer_cohorts) and the whole calendar months since it — the rows gold.cohort_retention counts, recomputed by month."
-- incremental_by: [order_year, order_month]
-- partition_by: [order_year, order_month]
-- properties: {delta.enableChangeDataFeed: "true"}

-- A person has one row per month in silver.customer_months (its GROUP BY),
-- so a (cohort, months since) group of these rows holds each person once.
-- A month whose people change cohort (an order older than their first
-- lands) is recomputed through silver.customer_cohorts' changes.
SELECT m.order_year, m.order_month, m.customer_unique_id, c.cohort_month,
       CAST((m.order_year - year(c.cohort_month)) * 12 + m.order_month - month(c.cohort_month) AS BIGINT) AS months_since_first
FROM silver.customer_months m
JOIN silver.customer_cohorts c ON c.customer_unique_id = m.customer_unique_id
WHERE m.order_year IS NOT NULL AND m.order_month IS NOT NULL
