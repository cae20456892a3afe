-- Sessions: 20000 * N rows, ids 1 .. 20000N, each owned by a uniformly chosen user.
--
-- A session starts during the week before its user was last seen. Liveness cannot follow the
-- wall clock (the data is anchored to 2026-01-01, and now() keeps moving), so:
--   30 % are "remember me" sessions that expire 100 years after they start: live for any
--        now() in this century, so a live-sessions query always finds rows;
--   10 % are such sessions, but revoked (the user logged out);
--   60 % expired 1 hour to 7 days after they started (all expired by now()).
INSERT INTO sessions (id, user_id, bot_id, data, created_at, expires_at, revoked)
OVERRIDING SYSTEM VALUE
SELECT s.id,
       u.id,
       u.bot_id,
       jsonb_build_object(
         'state', (ARRAY['idle', 'main_menu', 'onboarding', 'checkout', 'awaiting_input',
                         'settings', 'support_chat', 'quiz'])[1 + s.h2 % 8],
         'step', s.h2 / 8 % 6,
         'client', (ARRAY['android', 'ios', 'desktop', 'web'])[1 + s.h3 % 4],
         'app_version', '10.' || s.h3 / 4 % 15 || '.' || s.h3 / 64 % 4
       ),
       starts.created_at,
       CASE
         WHEN s.kind < 40 THEN starts.created_at + interval '100 years'
         ELSE starts.created_at + (3600 + s.h4 % (7 * 86400 - 3600)) * interval '1 second'
       END,
       s.kind < 10
FROM (
  SELECT id,
         1 + (hashint8(id * 256 + 48)::bigint + 2147483648) % (20000 * n) AS user_id,
         (hashint8(id * 256 + 49)::bigint + 2147483648) % 100 AS kind,
         hashint8(id * 256 + 50)::bigint + 2147483648 AS h2,
         hashint8(id * 256 + 51)::bigint + 2147483648 AS h3,
         hashint8(id * 256 + 52)::bigint + 2147483648 AS h4,
         hashint8(id * 256 + 53)::bigint + 2147483648 AS h5
  FROM (SELECT current_setting('dbopt.scale')::int AS n) AS scale,
       generate_series(1, 20000 * scale.n::bigint) AS id
  OFFSET 0  -- computes each hash once per row, not at every mention below
) AS s
JOIN users AS u ON u.id = s.user_id
CROSS JOIN LATERAL (
  SELECT greatest(u.created_at, u.last_seen_at - (s.h5 % (7 * 86400)) * interval '1 second') AS created_at
) AS starts
ORDER BY s.id;

SELECT setval(pg_get_serial_sequence('sessions', 'id'), (SELECT max(id) FROM sessions));
