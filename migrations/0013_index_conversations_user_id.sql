-- Up Migration
-- Foreign key conversations.user_id, and a user's full history: the partial index on active
-- conversations covers only 5 % of the rows and cannot serve the foreign key.
CREATE INDEX CONCURRENTLY conversations_user_id_idx ON conversations (user_id);

-- Down Migration
DROP INDEX CONCURRENTLY IF EXISTS conversations_user_id_idx;
