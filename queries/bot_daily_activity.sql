-- Analytics dashboard: a bot's last quarter of daily activity, from the materialized view
-- (refreshed by dbopt refresh-views). Read rarely, so measured with cold shared buffers.
-- name: bot_daily_activity
-- tier: cold
-- weight: 1
-- params-from: SELECT id FROM bots ORDER BY id LIMIT 10
-- expect: index daily_bot_activity_pkey, no-seq-scan
SELECT day, messages, active_users, new_users, events, payments, revenue
FROM analytics.daily_bot_activity
WHERE bot_id = $1
  AND day >= date '2025-10-01'
ORDER BY day;
