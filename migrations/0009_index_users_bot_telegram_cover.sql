-- Up Migration
-- The hottest query of the platform: every incoming update resolves (bot_id, telegram_id)
-- to the user row. INCLUDE makes it an index-only scan (id must be included too, or the
-- heap is visited for it); UNIQUE enforces one row per Telegram user and bot; the leading
-- bot_id also serves the users.bot_id foreign key.
CREATE UNIQUE INDEX CONCURRENTLY users_bot_telegram_cover
  ON users (bot_id, telegram_id) INCLUDE (id, profile, last_seen_at);

-- Down Migration
DROP INDEX CONCURRENTLY IF EXISTS users_bot_telegram_cover;
