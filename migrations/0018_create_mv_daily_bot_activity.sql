-- Up Migration
-- Per bot and UTC day: traffic, distinct active users, events, payments and sign-ups.
-- Days are cut in UTC explicitly (AT TIME ZONE 'UTC'), so the content does not depend on
-- the TimeZone of the session that refreshes it.
-- WITH NO DATA: migrations must not run a long aggregate; dbopt refresh-views fills it.
CREATE MATERIALIZED VIEW analytics.daily_bot_activity AS
WITH message_days AS (
  SELECT bot_id,
         (created_at AT TIME ZONE 'UTC')::date AS day,
         count(*) AS messages,
         count(*) FILTER (WHERE direction = 'in') AS messages_in,
         count(*) FILTER (WHERE direction = 'out') AS messages_out,
         count(DISTINCT user_id) AS active_users
  FROM messages
  GROUP BY 1, 2
), event_days AS (
  SELECT bot_id,
         (created_at AT TIME ZONE 'UTC')::date AS day,
         count(*) AS events,
         count(*) FILTER (WHERE name = 'payment') AS payments,
         sum((props ->> 'amount')::numeric) FILTER (WHERE name = 'payment') AS revenue
  FROM events
  GROUP BY 1, 2
), signup_days AS (
  SELECT bot_id,
         (created_at AT TIME ZONE 'UTC')::date AS day,
         count(*) AS new_users
  FROM users
  GROUP BY 1, 2
)
SELECT bot_id,
       day,
       coalesce(m.messages, 0) AS messages,
       coalesce(m.messages_in, 0) AS messages_in,
       coalesce(m.messages_out, 0) AS messages_out,
       coalesce(m.active_users, 0) AS active_users,
       coalesce(s.new_users, 0) AS new_users,
       coalesce(e.events, 0) AS events,
       coalesce(e.payments, 0) AS payments,
       coalesce(e.revenue, 0) AS revenue
FROM message_days AS m
FULL JOIN event_days AS e USING (bot_id, day)
FULL JOIN signup_days AS s USING (bot_id, day)
WITH NO DATA;

-- The unique index (plain columns, no WHERE) that a concurrent refresh of the view needs.
-- A plain build is safe here: the view was created above and is empty.
CREATE UNIQUE INDEX daily_bot_activity_pkey ON analytics.daily_bot_activity (bot_id, day);

-- Down Migration
DROP MATERIALIZED VIEW analytics.daily_bot_activity;
