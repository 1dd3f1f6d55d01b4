-- name: gold.b
SELECT * FROM gold.a
