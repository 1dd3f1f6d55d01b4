-- name: gold.clickstream_events_1m
-- window: {source: bronze.clickstream, time: event_time, size: 1m, lateness: 2m, late_table: gold.clickstream_late_events}
SELECT window_start, window_end, event_type, count(*) AS events
FROM bronze.clickstream
GROUP BY window_start, window_end, event_type
