-- Bots: 5 * N rows, ids 1 .. 5N.
--
-- Conventions of every seed file (see README.md):
--   * N = current_setting('dbopt.scale')::int, set by the runner before the first file;
--   * pseudo-random values come from hashint8() of the row's id and a salt that differs per
--     column (never random()), so one scale always yields the same rows, on any server;
--   * h(x) = hashint8(x)::bigint + 2^31 is uniform in [0, 2^32), u(x) = (h(x) + 0.5) / 2^32
--     is uniform in (0, 1); only IEEE-exact float operations (+ - * / sqrt) are applied to
--     it, so results do not depend on the platform's libm;
--   * time is anchored to a fixed epoch, 2026-01-01 00:00:00 UTC (the data's "now"); the
--     history covers the 365 days before it.

-- Refuse early and clearly: a missing scale, or tables that already hold data (explicit ids
-- would collide, and counts would no longer match the documented formula).
DO $$
DECLARE
  scale text := current_setting('dbopt.scale', true);
BEGIN
  IF (CASE WHEN scale ~ '^[0-9]{1,4}$' THEN scale::int NOT BETWEEN 1 AND 1000 ELSE true END) THEN
    RAISE EXCEPTION 'dbopt.scale must be an integer from 1 to 1000, got %', coalesce(quote_literal(scale), 'nothing')
      USING HINT = 'Run SET dbopt.scale = ''1'' in the session before the seed files (dbopt seed --scale N does it).';
  END IF;
  IF EXISTS (SELECT FROM bots) OR EXISTS (SELECT FROM users) OR EXISTS (SELECT FROM conversations)
     OR EXISTS (SELECT FROM messages) OR EXISTS (SELECT FROM events) THEN
    RAISE EXCEPTION 'the workload tables already hold data; the seed only fills empty tables'
      USING HINT = 'Seed a freshly migrated database, or empty the tables first (dbopt seed --force does).';
  END IF;
END
$$;

-- Session settings for the load, reset by 99_analyze.sql. JIT: the planner cannot estimate
-- the rows of generate_series() over a per-row bound and so compiles the big statements,
-- which costs more than it saves here; work_mem: 06_messages.sql sorts N * 300,000 rows.
SET jit = off;
SET work_mem = '64MB';

INSERT INTO bots (id, username, name, is_active, created_at)
OVERRIDING SYSTEM VALUE
SELECT b,
       lower(kind) || '_' || b || '_bot',
       adjective || ' ' || kind || ' Bot',
       b % 20 <> 0,
       timestamptz '2025-01-01 00:00:00+00'
         - (30 + h1 % 300) * interval '1 day'
         - (h2 % 86400) * interval '1 second'
FROM (SELECT current_setting('dbopt.scale')::int AS n) AS scale,
     generate_series(1, 5 * scale.n::bigint) AS b,
     LATERAL (
       SELECT hashint8(b * 256 + 0)::bigint + 2147483648 AS h1,
              hashint8(b * 256 + 1)::bigint + 2147483648 AS h2,
              hashint8(b * 256 + 2)::bigint + 2147483648 AS h3,
              hashint8(b * 256 + 3)::bigint + 2147483648 AS h4
     ) AS h,
     LATERAL (
       SELECT (ARRAY['Shop', 'Support', 'Quiz', 'News', 'Weather', 'Crypto', 'Fitness', 'Travel',
                     'Music', 'Game', 'Language', 'Finance', 'Food', 'Dating', 'Jobs', 'Movie'])[1 + h3 % 16] AS kind,
              (ARRAY['Smart', 'Happy', 'Quick', 'Daily', 'Friendly', 'Super', 'Mega', 'Tiny',
                     'Pro', 'Lucky'])[1 + h4 % 10] AS adjective
     ) AS words
ORDER BY b;

SELECT setval(pg_get_serial_sequence('bots', 'id'), (SELECT max(id) FROM bots));
