-- Up Migration
-- One settings document per bot; the primary key on bot_id also serves the foreign key.
CREATE TABLE bot_configs (
  bot_id     bigint PRIMARY KEY REFERENCES bots (id) ON DELETE CASCADE,
  settings   jsonb NOT NULL DEFAULT '{}'::jsonb,
  updated_at timestamptz NOT NULL DEFAULT now()
);

-- Down Migration
DROP TABLE bot_configs;
