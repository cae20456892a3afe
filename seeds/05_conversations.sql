-- Conversations: 30000 * N rows, ids 1 .. 30000N, in creation order; plus, for
-- 06_messages.sql, the number and time span of each conversation's messages, kept in the
-- session's temporary table seed_conversation_plan (the seed files run in one session).
--
-- user: conversation c starts at time fraction t = sqrt(c / C) of the history, when about
--   U * t^2 = U * c / C users exist; it picks one of them uniformly, so long-standing users
--   hold more conversations (about 1.5 * ln(U / user_id) each).
-- status: exactly 5 % active (c % 20 = 7); the others are 'archived' when last updated more
--   than 90 days before the epoch, else 'closed'.
-- messages: each conversation gets a weight: 90 % short chats, 1 + floor(7 * (u + u'))
--   (1 .. 14, median 8); 10 % a Pareto tail with alpha = 2, 5 + floor(13 / sqrt(u)) (18 and
--   up, about 2,000 at most at N = 10); and one conversation in 10,000 (c % 10000 = 1007,
--   always active: long-lived group or support chats) 1,500 .. 4,999. The exact total
--   M = 300000 * N is then split in proportion to the weights (about 0.99 message per unit):
--   count(c) = floor(W(c) * M / W) - floor(W(c-1) * M / W), where W(c) is the running sum
--   of the weights and W their total; the counts sum to exactly M. A handful of
--   conversations (weight 1) get no message at all.
-- time: messages are spaced 20 .. 319 s apart (per conversation); the first message is at
--   created_at, the last at updated_at; active conversations were updated during the last
--   week before the epoch.
CREATE TEMP TABLE seed_conversation_plan AS
WITH weighted AS (
  SELECT c,
         n,
         300000 * n::bigint AS total_messages,
         1 + floor(u1 * (20000 * n) * ((c - 0.5::float8) / (30000 * n)))::bigint AS user_id,
         timestamptz '2025-01-01 00:00:00+00'
           + floor(31449600 * sqrt((c - 0.5::float8) / (30000 * n)))::bigint * interval '1 second' AS starts_at,
         CASE
           WHEN c % 10000 = 1007 THEN 1500 + h2 % 3500
           WHEN h2 % 10 = 0 THEN 5 + floor(13 / sqrt(u3))::bigint
           ELSE 1 + floor(7 * (u3 + u8))::bigint
         END AS weight,
         c % 20 = 7 AS active,
         20 + h4 % 300 AS gap_seconds,
         h5 % 604800 AS idle_seconds,
         h6,
         h7
  FROM (SELECT current_setting('dbopt.scale')::int AS n) AS scale,
       generate_series(1, 30000 * scale.n::bigint) AS c,
       LATERAL (
         SELECT (hashint8(c * 256 + 64)::float8 + 2147483648.5) / 4294967296 AS u1,
                hashint8(c * 256 + 65)::bigint + 2147483648 AS h2,
                (hashint8(c * 256 + 66)::float8 + 2147483648.5) / 4294967296 AS u3,
                hashint8(c * 256 + 67)::bigint + 2147483648 AS h4,
                hashint8(c * 256 + 68)::bigint + 2147483648 AS h5,
                hashint8(c * 256 + 69)::bigint + 2147483648 AS h6,
                hashint8(c * 256 + 70)::bigint + 2147483648 AS h7,
                (hashint8(c * 256 + 71)::float8 + 2147483648.5) / 4294967296 AS u8
       ) AS h
), cumulated AS (
  SELECT *,
         (sum(weight) OVER (ORDER BY c))::bigint AS running_weight,
         (sum(weight) OVER ())::bigint AS all_weight
  FROM weighted
), counted AS (
  SELECT *,
         running_weight * total_messages / all_weight
           - (running_weight - weight) * total_messages / all_weight AS message_count
  FROM cumulated
), placed AS (
  SELECT counted.*,
         u.bot_id,
         u.lang,
         greatest(counted.starts_at, u.created_at + interval '1 minute') AS created_at
  FROM counted
  JOIN users AS u ON u.id = counted.user_id
), spanned AS (
  SELECT placed.*,
         extract(epoch FROM
           least(
             CASE
               WHEN active THEN greatest(created_at + greatest(message_count - 1, 0) * gap_seconds * interval '1 second',
                                         timestamptz '2026-01-01 00:00:00+00' - idle_seconds * interval '1 second')
               ELSE created_at + greatest(message_count - 1, 0) * gap_seconds * interval '1 second'
             END,
             timestamptz '2026-01-01 00:00:00+00' - interval '1 minute'
           ) - created_at
         )::bigint AS span_seconds
  FROM placed
)
SELECT c AS id,
       bot_id,
       user_id,
       CASE
         WHEN active THEN 'active'
         WHEN created_at + span_seconds * interval '1 second'
              < timestamptz '2026-01-01 00:00:00+00' - interval '90 days' THEN 'archived'
         ELSE 'closed'
       END AS status,
       jsonb_build_object(
         'channel', CASE WHEN h6 % 10 = 0 THEN 'group' ELSE 'private' END,
         'topic', (ARRAY['orders', 'billing', 'onboarding', 'support', 'quiz', 'news',
                         'subscription', 'feedback', 'smalltalk', 'booking'])[1 + h6 / 10 % 10],
         'locale', coalesce(lang, 'en'),
         'intent_confidence', round((h7 % 100) / 100.0, 2)
       ) AS context,
       created_at,
       created_at + span_seconds * interval '1 second' AS updated_at,
       message_count,
       span_seconds
FROM spanned;

INSERT INTO conversations (id, bot_id, user_id, status, context, created_at, updated_at)
OVERRIDING SYSTEM VALUE
SELECT id, bot_id, user_id, status, context, created_at, updated_at
FROM seed_conversation_plan
ORDER BY id;

SELECT setval(pg_get_serial_sequence('conversations', 'id'), (SELECT max(id) FROM conversations));
