-- Up Migration
-- Conversation state machines (wizard steps, carts) keyed by user. bot_id is denormalised
-- from the user for per-bot housekeeping and carries no foreign key.
CREATE TABLE sessions (
  id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  user_id    bigint NOT NULL REFERENCES users (id) ON DELETE CASCADE,
  bot_id     bigint NOT NULL,
  data       jsonb NOT NULL DEFAULT '{}'::jsonb,
  created_at timestamptz NOT NULL DEFAULT now(),
  expires_at timestamptz NOT NULL,
  revoked    boolean NOT NULL DEFAULT false
);

-- Down Migration
DROP TABLE sessions;
