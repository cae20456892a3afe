-- Up Migration
-- A migration as it is often first written: it works on a laptop and stalls production.
CREATE INDEX messages_bot_created ON messages (bot_id, created_at);
ALTER TABLE users ADD COLUMN referral_code text NOT NULL DEFAULT md5(random()::text);
REFRESH MATERIALIZED VIEW analytics.daily_bot_activity;

-- Down Migration
ALTER TABLE users DROP COLUMN referral_code;
DROP INDEX messages_bot_created;
