-- Up Migration
-- A Telegram user as seen by one bot: the same person talking to two bots is two rows.
-- (bot_id, telegram_id) is unique, but through the covering unique index of a later
-- migration rather than a constraint, so one index serves both the look-up and uniqueness.
CREATE TABLE users (
  id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  bot_id       bigint NOT NULL REFERENCES bots (id) ON DELETE CASCADE,
  telegram_id  bigint NOT NULL,
  profile      jsonb NOT NULL DEFAULT '{}'::jsonb,
  lang         text,
  created_at   timestamptz NOT NULL DEFAULT now(),
  last_seen_at timestamptz
);

-- Down Migration
DROP TABLE users;
