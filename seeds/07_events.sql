-- Events: 200000 * N rows, ids 1 .. 200000N, in time order (the same sqrt growth curve as
-- users). Event e happens when about U * e / E users exist and picks one of them uniformly.
--
-- name: 45 % message_sent, 20 % command, 20 % button_click, 8 % session_start, 3 % share,
--   2 % payment, 2 % error.
-- props: always a source (50 % organic, 15 % search, 10 % share, 12 % ads, 8 % referral,
--   5 % deeplink); a campaign (one of 8) only for ads, referral and deeplink traffic, so
--   props @> '{"campaign": "black_friday"}' matches about 3 %; per name: chars, command,
--   button, amount + currency + product (payment, amount 0.99 .. 99.98 USD), error code.
--
-- The user's bot and sign-up time are recomputed with the formulas of 03_users.sql instead
-- of joining users: the join would force a sort of every wide event row to keep the heap in
-- id order (checked by the seed's tests: events.bot_id always equals its user's bot_id).
INSERT INTO events (id, bot_id, user_id, name, props, created_at)
OVERRIDING SYSTEM VALUE
SELECT id,
       1 + floor(5 * n * ((user_u * user_u) * (user_u * user_u)))::int,
       user_id,
       name,
       -- one small object per kind of event (building every key and stripping nulls costs
       -- several times more); jsonb_strip_nulls drops the campaign of untargeted traffic
       jsonb_strip_nulls(CASE name
         WHEN 'message_sent' THEN jsonb_build_object(
           'source', source, 'campaign', campaign, 'chars', 1 + h4 % 400)
         WHEN 'command' THEN jsonb_build_object(
           'source', source, 'campaign', campaign,
           'command', (ARRAY['/start', '/help', '/menu', '/buy', '/settings', '/status'])[1 + h4 % 6])
         WHEN 'button_click' THEN jsonb_build_object(
           'source', source, 'campaign', campaign,
           'button', (ARRAY['buy', 'next', 'back', 'subscribe', 'more', 'cancel', 'share'])[1 + h4 % 7])
         WHEN 'payment' THEN jsonb_build_object(
           'source', source, 'campaign', campaign,
           'amount', (99 + h4 % 9900) * 0.01,
           'currency', 'USD',
           'product', (ARRAY['basic_monthly', 'pro_monthly', 'pro_yearly', 'coins_100', 'coins_500'])[1 + h5 % 5])
         WHEN 'error' THEN jsonb_build_object(
           'source', source, 'campaign', campaign,
           'code', (ARRAY[400, 403, 409, 429, 500, 502])[1 + h4 % 6])
         ELSE jsonb_build_object('source', source, 'campaign', campaign)
       END),
       greatest(happens_at, user_created_at + interval '30 seconds')
FROM (
  SELECT id,
         n,
         user_id,
         -- u1 of 03_users.sql for this user: it decides the user's bot
         (hashint8(user_id * 256 + 16)::float8 + 2147483648.5) / 4294967296 AS user_u,
         -- created_at of 03_users.sql for this user
         timestamptz '2025-01-01 00:00:00+00'
           + floor(31449600 * sqrt((user_id - 0.5::float8) / (20000 * n)))::bigint * interval '1 second' AS user_created_at,
         timestamptz '2025-01-01 00:00:00+00'
           + floor(31536000 * sqrt((id - 0.5::float8) / (200000 * n)))::bigint * interval '1 second' AS happens_at,
         CASE
           WHEN h2 % 100 < 45 THEN 'message_sent'
           WHEN h2 % 100 < 65 THEN 'command'
           WHEN h2 % 100 < 85 THEN 'button_click'
           WHEN h2 % 100 < 93 THEN 'session_start'
           WHEN h2 % 100 < 96 THEN 'share'
           WHEN h2 % 100 < 98 THEN 'payment'
           ELSE 'error'
         END AS name,
         CASE
           WHEN h2 / 100 % 100 < 50 THEN 'organic'
           WHEN h2 / 100 % 100 < 65 THEN 'search'
           WHEN h2 / 100 % 100 < 75 THEN 'share'
           WHEN h2 / 100 % 100 < 87 THEN 'ads'
           WHEN h2 / 100 % 100 < 95 THEN 'referral'
           ELSE 'deeplink'
         END AS source,
         CASE
           WHEN h2 / 100 % 100 >= 75  -- ads, referral and deeplink traffic
             THEN (ARRAY['black_friday', 'new_year', 'spring_sale', 'summer_promo',
                         'back_to_school', 'retarget', 'influencer', 'launch'])[1 + h3 % 8]
         END AS campaign,
         h4,
         h5
  FROM (
    SELECT id,
           n,
           1 + floor(((hashint8(id * 256 + 128)::float8 + 2147483648.5) / 4294967296)
                     * (20000 * n) * ((id - 0.5::float8) / (200000 * n)))::bigint AS user_id,
           hashint8(id * 256 + 129)::bigint + 2147483648 AS h2,
           hashint8(id * 256 + 130)::bigint + 2147483648 AS h3,
           hashint8(id * 256 + 131)::bigint + 2147483648 AS h4,
           hashint8(id * 256 + 132)::bigint + 2147483648 AS h5
    FROM (SELECT current_setting('dbopt.scale')::int AS n) AS scale,
         generate_series(1, 200000 * scale.n::bigint) AS id
    OFFSET 0
  ) AS hashed
  OFFSET 0
) AS e;

SELECT setval(pg_get_serial_sequence('events', 'id'), (SELECT max(id) FROM events));
