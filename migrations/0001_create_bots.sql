-- Up Migration
-- One row per bot hosted on the platform. Bots are few (tens to hundreds), so this table
-- carries no secondary index beyond its primary key; the username's uniqueness is enforced
-- by an index built concurrently in its own migration.
CREATE TABLE bots (
  id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  username   text NOT NULL,
  name       text NOT NULL,
  is_active  boolean NOT NULL DEFAULT true,
  created_at timestamptz NOT NULL DEFAULT now()
);

-- Down Migration
DROP TABLE bots;
