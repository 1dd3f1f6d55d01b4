-- name: silver.customer_cohorts
-- description: "Each person's (customer_unique_id) cohort: the month of their first order with a purchase time — kept from silver.customer_months's new months (a person's minimum only moves back), so that gold.cohort_retention does not find every person's first month again."
-- incremental_by: [customer_unique_id]
-- properties: {delta.enableChangeDataFeed: "true"}
SELECT customer_unique_id, min(make_date(order_year, order_month, 1)) AS cohort_month
FROM silver.customer_months
WHERE order_year IS NOT NULL AND order_month IS NOT NULL
GROUP BY customer_unique_id
