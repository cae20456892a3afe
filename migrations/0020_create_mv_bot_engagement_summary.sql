-- Up Migration
-- Per bot, built on analytics.user_engagement (so it must be refreshed after it): users per
-- engagement segment, paying users, revenue, message volume and the latest activity.
-- WITH NO DATA: migrations must not run a long aggregate; dbopt refresh-views fills it.
CREATE MATERIALIZED VIEW analytics.bot_engagement_summary AS
SELECT b.id AS bot_id,
       b.username,
       count(ue.user_id) AS users,
       count(*) FILTER (WHERE ue.segment = 'power') AS power_users,
       count(*) FILTER (WHERE ue.segment = 'regular') AS regular_users,
       count(*) FILTER (WHERE ue.segment = 'casual') AS casual_users,
       count(*) FILTER (WHERE ue.segment = 'dormant') AS dormant_users,
       count(*) FILTER (WHERE ue.payments > 0) AS paying_users,
       coalesce(sum(ue.revenue), 0) AS revenue,
       coalesce(sum(ue.messages), 0) AS messages,
       round(coalesce(avg(ue.messages), 0), 2) AS avg_messages_per_user,
       max(ue.last_activity_at) AS last_activity_at
FROM bots AS b
LEFT JOIN analytics.user_engagement AS ue ON ue.bot_id = b.id
GROUP BY b.id, b.username
WITH NO DATA;

-- The unique index (plain columns, no WHERE) that a concurrent refresh of the view needs.
-- A plain build is safe here: the view was created above and is empty.
CREATE UNIQUE INDEX bot_engagement_summary_pkey ON analytics.bot_engagement_summary (bot_id);

-- Down Migration
DROP MATERIALIZED VIEW analytics.bot_engagement_summary;
