-- Up Migration
-- Foreign key sessions.user_id: deleting a user must not scan every session. The partial
-- live-sessions index cannot serve it, since it leaves revoked sessions out.
CREATE INDEX CONCURRENTLY sessions_user_id_idx ON sessions (user_id);

-- Down Migration
DROP INDEX CONCURRENTLY IF EXISTS sessions_user_id_idx;
