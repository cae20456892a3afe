-- Users: 20000 * N rows, ids 1 .. 20000N, in sign-up order.
--
-- bot_id: 1 + floor(B * u^4) with B = 5N bots, a power law: at N = 10 the busiest bot owns
--   38 % of all users and the busiest 5 own 56 %, while the quietest still has about 1,000
--   (at N = 1: 67 % for bot 1, about 1,100 for bot 5).
-- telegram_id: (id * 2654435761) mod 2^32, a bijection on 0 .. 2^32-1, plus 10^8: unique.
-- created_at: 2025-01-01 + 364 days * sqrt((id - 0.5) / U): the sign-up rate grows linearly
--   over the year (the platform is growing), and ids follow sign-up time, as in production.
-- lang: 45 % en, 10 % es, 8 % pt, 6 % de, 5 % fr/tr/id, 4 % ar, 3 % it, 2 % uk/fa,
--   2 % ru (so profile @> '{"lang": "ru"}' is selective), 3 % unknown (no lang at all).
INSERT INTO users (id, bot_id, telegram_id, profile, lang, created_at, last_seen_at)
OVERRIDING SYSTEM VALUE
SELECT i,
       bot_id,
       telegram_id,
       jsonb_strip_nulls(jsonb_build_object(
         'lang', lang,
         'country', country,
         'first_name', first_name,
         'username', CASE WHEN h4 % 10 < 7 THEN lower(first_name) || '_' || h4 % 100000 END,
         'premium', h5 % 100 < 6,
         'plan', CASE WHEN h6 % 100 < 78 THEN 'free' WHEN h6 % 100 < 93 THEN 'basic' ELSE 'pro' END,
         'tags', to_jsonb((ARRAY[tags[1 + h7 % 10],
                                 tags[1 + (h7 % 10 + 1 + h8 % 4) % 10],
                                 tags[1 + (h7 % 10 + 5 + h8 / 4 % 4) % 10]])[1:h8 / 16 % 4]),
         'notifications', h5 / 100 % 10 < 8
       )),
       lang,
       created_at,
       CASE
         WHEN h9 % 10 < 4  -- tried the bot once and left
           THEN created_at + floor(86400 * u10)::bigint * interval '1 second'
         ELSE created_at + floor(extract(epoch FROM timestamptz '2026-01-01 00:00:00+00' - created_at)::float8
                                 * sqrt(u10))::bigint * interval '1 second'
       END
FROM (
  SELECT i,
         1 + floor(5 * n * ((u1 * u1) * (u1 * u1)))::int AS bot_id,
         100000000 + (i * 2654435761) % 4294967296 AS telegram_id,
         timestamptz '2025-01-01 00:00:00+00'
           + floor(31449600 * sqrt((i - 0.5::float8) / (20000 * n)))::bigint * interval '1 second' AS created_at,
         lang,
         CASE lang
           WHEN 'ru' THEN (ARRAY['RU', 'RU', 'RU', 'KZ', 'BY', 'UZ'])[1 + h3 % 6]
           WHEN 'en' THEN (ARRAY['US', 'US', 'GB', 'IN', 'IN', 'CA', 'AU', 'NG', 'PH'])[1 + h3 % 9]
           WHEN 'es' THEN (ARRAY['ES', 'MX', 'MX', 'AR', 'CO', 'CL'])[1 + h3 % 6]
           WHEN 'pt' THEN (ARRAY['BR', 'BR', 'BR', 'PT'])[1 + h3 % 4]
           WHEN 'de' THEN (ARRAY['DE', 'DE', 'AT', 'CH'])[1 + h3 % 4]
           WHEN 'fr' THEN (ARRAY['FR', 'FR', 'BE', 'CA', 'SN'])[1 + h3 % 5]
           WHEN 'tr' THEN 'TR'
           WHEN 'id' THEN 'ID'
           WHEN 'ar' THEN (ARRAY['EG', 'SA', 'AE', 'MA'])[1 + h3 % 4]
           WHEN 'it' THEN 'IT'
           WHEN 'uk' THEN 'UA'
           WHEN 'fa' THEN 'IR'
           ELSE (ARRAY['US', 'IN', 'BR', 'NG', 'VN'])[1 + h3 % 5]
         END AS country,
         (ARRAY['Alex', 'Maria', 'Ivan', 'Anna', 'John', 'Sofia', 'Ahmed', 'Fatima', 'Carlos',
                'Lucia', 'Mehmet', 'Ayse', 'Budi', 'Siti', 'Lukas', 'Emma', 'Raj', 'Priya',
                'Pedro', 'Ana', 'Olena', 'Dmytro', 'Reza', 'Sara'])[1 + h3 / 16 % 24] AS first_name,
         ARRAY['vip', 'beta', 'churn_risk', 'newsletter', 'referral', 'support_priority',
               'early_adopter', 'b2b', 'student', 'gamer'] AS tags,
         h4, h5, h6, h7, h8, h9, u10
  FROM (
    SELECT i,
           n,
           (hashint8(i * 256 + 16)::float8 + 2147483648.5) / 4294967296 AS u1,
           hashint8(i * 256 + 17)::bigint + 2147483648 AS h2,
           hashint8(i * 256 + 18)::bigint + 2147483648 AS h3,
           hashint8(i * 256 + 19)::bigint + 2147483648 AS h4,
           hashint8(i * 256 + 20)::bigint + 2147483648 AS h5,
           hashint8(i * 256 + 21)::bigint + 2147483648 AS h6,
           hashint8(i * 256 + 22)::bigint + 2147483648 AS h7,
           hashint8(i * 256 + 23)::bigint + 2147483648 AS h8,
           hashint8(i * 256 + 24)::bigint + 2147483648 AS h9,
           (hashint8(i * 256 + 25)::float8 + 2147483648.5) / 4294967296 AS u10
    FROM (SELECT current_setting('dbopt.scale')::int AS n) AS scale,
         generate_series(1, 20000 * scale.n::bigint) AS i
    OFFSET 0  -- computes each hash once per row, not at every mention below
  ) AS h,
       LATERAL (
         SELECT CASE
                  WHEN h2 % 1000 < 20 THEN 'ru'
                  WHEN h2 % 1000 < 470 THEN 'en'
                  WHEN h2 % 1000 < 570 THEN 'es'
                  WHEN h2 % 1000 < 650 THEN 'pt'
                  WHEN h2 % 1000 < 710 THEN 'de'
                  WHEN h2 % 1000 < 760 THEN 'fr'
                  WHEN h2 % 1000 < 810 THEN 'tr'
                  WHEN h2 % 1000 < 860 THEN 'id'
                  WHEN h2 % 1000 < 900 THEN 'ar'
                  WHEN h2 % 1000 < 930 THEN 'it'
                  WHEN h2 % 1000 < 950 THEN 'uk'
                  WHEN h2 % 1000 < 970 THEN 'fa'
                END AS lang
       ) AS l
  OFFSET 0
) AS u;

SELECT setval(pg_get_serial_sequence('users', 'id'), (SELECT max(id) FROM users));
