-- Up Migration
-- A conversation's latest messages (ORDER BY created_at DESC LIMIT 50) without a sort.
-- Its leading column also serves the messages.conversation_id foreign key.
CREATE INDEX CONCURRENTLY messages_conversation_recent
  ON messages (conversation_id, created_at DESC);

-- Down Migration
DROP INDEX CONCURRENTLY IF EXISTS messages_conversation_recent;
