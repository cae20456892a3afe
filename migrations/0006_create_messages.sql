-- Up Migration
-- Every message of a conversation, in both directions: 'in' from the user, 'out' from the
-- bot. bot_id and user_id are denormalised from the conversation (no foreign keys: the
-- conversation's key already ties them), so per-bot and per-user analytics need no join.
CREATE TABLE messages (
  id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  conversation_id bigint NOT NULL REFERENCES conversations (id) ON DELETE CASCADE,
  bot_id          bigint NOT NULL,
  user_id         bigint NOT NULL,
  direction       text NOT NULL
                  CONSTRAINT messages_direction_check CHECK (direction IN ('in', 'out')),
  body            text NOT NULL,
  created_at      timestamptz NOT NULL DEFAULT now(),
  meta            jsonb NOT NULL DEFAULT '{}'::jsonb
);

-- Down Migration
DROP TABLE messages;
