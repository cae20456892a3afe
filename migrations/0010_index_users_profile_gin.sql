-- Up Migration
-- Audience segmentation: profile @> '{"lang": "ru"}', '{"premium": true}', '{"tags": ["vip"]}'.
-- jsonb_path_ops is smaller and faster than the default opclass for @> (it cannot answer ?).
CREATE INDEX CONCURRENTLY users_profile_gin ON users USING gin (profile jsonb_path_ops);

-- Down Migration
DROP INDEX CONCURRENTLY IF EXISTS users_profile_gin;
