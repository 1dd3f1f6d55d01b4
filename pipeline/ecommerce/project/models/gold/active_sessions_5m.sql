-- name: gold.active_sessions_5m
-- description: "Active sessions over a sliding 5-minute window of event time, every minute."
-- window: {source: bronze.clickstream, time: event_time, size: 5m, slide: 1m, lateness: 2m}
SELECT window_start, window_end, count(DISTINCT session_id) AS active_sessions
FROM bronze.clickstream
GROUP BY window_start, window_end
