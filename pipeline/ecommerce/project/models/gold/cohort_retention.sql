-- name: gold.cohort_retention
-- description: "People by the month of their first order (cohort) and months since, counting those who ordered that month."
-- incremental_by: [cohort_month, months_since_first]

-- silver.cohort_months has a row per person and month they ordered in
-- (orders with a purchase time), with the person's cohort: count(*) is the
-- distinct count of people. A run that only adds rows to it (a new month)
-- adds their counts to the groups they fall in (aggregate maintenance);
-- one that changes rows recomputes the groups they touch.
SELECT cohort_month, months_since_first, count(*) AS customers
FROM silver.cohort_months
GROUP BY cohort_month, months_since_first
