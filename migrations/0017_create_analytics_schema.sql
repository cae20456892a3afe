-- Up Migration
-- Home of the materialized views that dbopt refresh-views keeps fresh.
CREATE SCHEMA analytics;

-- Down Migration
DROP SCHEMA analytics;
