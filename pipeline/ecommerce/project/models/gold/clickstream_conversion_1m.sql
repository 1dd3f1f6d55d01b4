-- name: gold.clickstream_conversion_1m
-- description: "Sessions and purchasing sessions per 1-minute window of event time, and their ratio."
-- window: {source: bronze.clickstream, time: event_time, size: 1m, lateness: 2m}
SELECT
    window_start,
    window_end,
    count(DISTINCT session_id) AS sessions,
    count(DISTINCT session_id) FILTER (WHERE event_type = 'purchase') AS purchasing_sessions,
    100 * count(DISTINCT session_id) FILTER (WHERE event_type = 'purchase') / CAST(count(DISTINCT session_id) AS DOUBLE) AS conversion_pct
FROM bronze.clickstream
GROUP BY window_start, window_end
