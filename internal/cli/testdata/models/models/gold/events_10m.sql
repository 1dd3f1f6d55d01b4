-- name: gold.events_10m
-- window: {source: bronze.events, time: ts, size: 10m, lateness: 1m}
SELECT window_start, count(*) AS events
FROM bronze.events
GROUP BY window_start
