-- Bot configurations: one row per bot (5 * N rows).
INSERT INTO bot_configs (bot_id, settings, updated_at)
SELECT b.id,
       jsonb_build_object(
         'welcome_message', 'Welcome to ' || b.name || '! Send /help to see what I can do.',
         'default_lang', (ARRAY['en', 'en', 'en', 'es', 'pt', 'ru', 'de', 'tr'])[1 + h1 % 8],
         'features', jsonb_build_object(
           'payments', h2 % 3 = 0,
           'inline_mode', h2 % 2 = 0,
           'groups', h2 % 5 < 2,
           'ai_replies', h2 % 7 < 3
         ),
         'rate_limit_per_minute', 20 + (h3 % 5) * 10,
         'webhook', jsonb_build_object(
           'url', 'https://hooks.example.com/bots/' || b.id || '/updates',
           'max_connections', 40,
           'allowed_updates', jsonb_build_array('message', 'callback_query')
         ),
         'admins', jsonb_build_array(100000 + h1 % 900000, 100000 + h3 % 900000)
       ),
       b.created_at + (1 + h3 % 300) * interval '1 day'
FROM bots AS b,
     LATERAL (
       SELECT hashint8(b.id * 256 + 8)::bigint + 2147483648 AS h1,
              hashint8(b.id * 256 + 9)::bigint + 2147483648 AS h2,
              hashint8(b.id * 256 + 10)::bigint + 2147483648 AS h3
     ) AS h
ORDER BY b.id;
