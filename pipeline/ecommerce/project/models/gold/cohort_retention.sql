-- name: gold.cohort_retention
-- description: "People by the month of their first order (cohort) and months since, counting those who ordered that month."
WITH monthly AS (
    SELECT c.customer_unique_id AS person, CAST(date_trunc('month', o.order_purchase_timestamp) AS DATE) AS month
    FROM silver.orders o
    JOIN silver.customers c ON c.customer_id = o.customer_id
    WHERE o.order_purchase_timestamp IS NOT NULL AND c.customer_unique_id IS NOT NULL
),
first AS (
    SELECT person, min(month) AS cohort_month FROM monthly GROUP BY person
)
-- Months since the cohort's: whole calendar months, in SQL every engine runs.
SELECT f.cohort_month,
       CAST((year(m.month) - year(f.cohort_month)) * 12 + month(m.month) - month(f.cohort_month) AS BIGINT) AS months_since_first,
       count(DISTINCT m.person) AS customers
FROM monthly m
JOIN first f USING (person)
GROUP BY ALL
