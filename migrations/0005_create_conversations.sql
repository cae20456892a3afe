-- Up Migration
-- A dialogue between a bot and one of its users. bot_id is denormalised from the user.
CREATE TABLE conversations (
  id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  bot_id     bigint NOT NULL,
  user_id    bigint NOT NULL REFERENCES users (id) ON DELETE CASCADE,
  status     text NOT NULL DEFAULT 'active'
             CONSTRAINT conversations_status_check CHECK (status IN ('active', 'closed', 'archived')),
  context    jsonb NOT NULL DEFAULT '{}'::jsonb,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now()
);

-- Down Migration
DROP TABLE conversations;
