-- Up Migration
-- A user's live sessions: WHERE user_id = $1 AND NOT revoked AND expires_at > now().
-- Partial on NOT revoked; expiry stays a key column, because an index predicate must be
-- immutable and so cannot mention now().
CREATE INDEX CONCURRENTLY sessions_user_live ON sessions (user_id, expires_at) WHERE NOT revoked;

-- Down Migration
DROP INDEX CONCURRENTLY IF EXISTS sessions_user_live;
