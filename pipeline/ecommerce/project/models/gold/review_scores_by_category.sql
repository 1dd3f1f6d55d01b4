-- name: gold.review_scores_by_category
-- description: "Reviews and average score per category, over distinct (review, order, category) via the order's items."
-- incremental_by: [category]
WITH rated AS (
    SELECT DISTINCT r.review_id, r.order_id, l.category, r.review_score
    FROM silver.reviews r
    JOIN silver.orders_items l ON l.order_id = r.order_id AND l.has_item
    WHERE r.review_score IS NOT NULL
)
SELECT category, count(*) AS reviews, avg(review_score) AS avg_score
FROM rated
GROUP BY category
