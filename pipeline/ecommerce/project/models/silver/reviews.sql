-- name: silver.reviews
-- description: "Reviews, one row per (review_id, order_id)."
-- keys: [review_id, order_id]
-- expectations:
--   - name: score_in_range
--     expr: review_score BETWEEN 1 AND 5
--     action: warn
SELECT
    nullif(trim(review_id), '') AS review_id,
    nullif(trim(order_id), '') AS order_id,
    review_score,
    review_comment_title,
    review_comment_message,
    review_creation_date,
    review_answer_timestamp,
    _source_file,
    _seq,
    _ingested_at
FROM bronze.reviews
