-- The hottest query of the platform: every incoming Telegram update resolves (bot, telegram
-- id) to the user row. The covering index answers it without visiting the heap.
-- name: user_by_telegram_id
-- tier: hot
-- weight: 20
-- params-from: SELECT bot_id, telegram_id FROM users WHERE id % 400 = 7 ORDER BY id LIMIT 50
-- expect: index users_bot_telegram_cover, index-only
SELECT id, profile, last_seen_at
FROM users
WHERE bot_id = $1
  AND telegram_id = $2;
