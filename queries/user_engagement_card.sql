-- Analytics dashboard: one user's engagement card (segment, activity, revenue), from the
-- materialized view. Read rarely, so measured with cold shared buffers.
-- name: user_engagement_card
-- tier: cold
-- weight: 1
-- params-from: SELECT id FROM users WHERE id % 400 = 11 ORDER BY id LIMIT 50
-- expect: index user_engagement_pkey
SELECT user_id, bot_id, segment, conversations, messages, active_days, payments, revenue, last_activity_at
FROM analytics.user_engagement
WHERE user_id = $1;
