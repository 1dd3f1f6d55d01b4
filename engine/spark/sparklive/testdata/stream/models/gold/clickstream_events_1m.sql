-- name: gold.clickstream_events_1m
-- description: "Clickstream events per 1-minute tumbling window of event time and type; a window is written once the watermark (newest event − 2 min) passes it. Late events go to gold.clickstream_late_events."
-- window: {source: bronze.clickstream, time: event_time, size: 1m, lateness: 2m, late_table: gold.clickstream_late_events}
SELECT window_start, window_end, event_type, count(*) AS events
FROM bronze.clickstream
GROUP BY window_start, window_end, event_type
