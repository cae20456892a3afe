-- Up Migration
-- A user's open conversations, most recent first (checked on every incoming message).
-- Partial: only about 5 % of conversations are active, so the index stays tiny.
CREATE INDEX CONCURRENTLY conversations_user_active
  ON conversations (user_id, updated_at DESC) WHERE status = 'active';

-- Down Migration
DROP INDEX CONCURRENTLY IF EXISTS conversations_user_active;
