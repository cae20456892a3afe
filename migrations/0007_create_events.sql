-- Up Migration
-- Product analytics events (append-only, high volume). Deliberately without foreign keys:
-- events outlive the users and bots they describe and must not slow down ingestion.
CREATE TABLE events (
  id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  bot_id     bigint NOT NULL,
  user_id    bigint,
  name       text NOT NULL,
  props      jsonb NOT NULL DEFAULT '{}'::jsonb,
  created_at timestamptz NOT NULL DEFAULT now()
);

-- Down Migration
DROP TABLE events;
