-- Up Migration
-- Bot usernames are unique on Telegram; look-ups by username (admin tools, deep links).
CREATE UNIQUE INDEX CONCURRENTLY bots_username_key ON bots (username);

-- Down Migration
DROP INDEX CONCURRENTLY IF EXISTS bots_username_key;
