-- Up Migration
-- Per user: conversations, messages, active days, events, payments, last activity and an
-- engagement segment. Users without any activity are kept (segment 'dormant').
-- WITH NO DATA: migrations must not run a long aggregate; dbopt refresh-views fills it.
CREATE MATERIALIZED VIEW analytics.user_engagement AS
SELECT u.id AS user_id,
       u.bot_id,
       u.created_at AS signed_up_at,
       coalesce(c.conversations, 0) AS conversations,
       coalesce(c.active_conversations, 0) AS active_conversations,
       coalesce(m.messages, 0) AS messages,
       coalesce(m.messages_in, 0) AS messages_in,
       coalesce(m.active_days, 0) AS active_days,
       coalesce(e.events, 0) AS events,
       coalesce(e.payments, 0) AS payments,
       coalesce(e.revenue, 0) AS revenue,
       greatest(u.last_seen_at, m.last_message_at, e.last_event_at) AS last_activity_at,
       CASE
         WHEN coalesce(m.messages_in, 0) >= 50 THEN 'power'
         WHEN coalesce(m.messages_in, 0) >= 10 THEN 'regular'
         WHEN coalesce(m.messages_in, 0) >= 1 THEN 'casual'
         ELSE 'dormant'
       END AS segment
FROM users AS u
LEFT JOIN (
  SELECT user_id,
         count(*) AS conversations,
         count(*) FILTER (WHERE status = 'active') AS active_conversations
  FROM conversations
  GROUP BY user_id
) AS c ON c.user_id = u.id
LEFT JOIN (
  SELECT user_id,
         count(*) AS messages,
         count(*) FILTER (WHERE direction = 'in') AS messages_in,
         count(DISTINCT (created_at AT TIME ZONE 'UTC')::date) AS active_days,
         max(created_at) AS last_message_at
  FROM messages
  GROUP BY user_id
) AS m ON m.user_id = u.id
LEFT JOIN (
  SELECT user_id,
         count(*) AS events,
         count(*) FILTER (WHERE name = 'payment') AS payments,
         sum((props ->> 'amount')::numeric) FILTER (WHERE name = 'payment') AS revenue,
         max(created_at) AS last_event_at
  FROM events
  WHERE user_id IS NOT NULL
  GROUP BY user_id
) AS e ON e.user_id = u.id
WITH NO DATA;

-- The unique index (plain columns, no WHERE) that a concurrent refresh of the view needs.
-- A plain build is safe here: the view was created above and is empty.
CREATE UNIQUE INDEX user_engagement_pkey ON analytics.user_engagement (user_id);

-- Down Migration
DROP MATERIALIZED VIEW analytics.user_engagement;
