-- Up Migration
-- Campaign and funnel analysis: props @> '{"campaign": "black_friday"}'.
CREATE INDEX CONCURRENTLY events_props_gin ON events USING gin (props jsonb_path_ops);

-- Down Migration
DROP INDEX CONCURRENTLY IF EXISTS events_props_gin;
