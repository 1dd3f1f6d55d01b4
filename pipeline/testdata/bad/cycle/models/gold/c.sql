-- name: gold.c
SELECT * FROM gold.b
