-- Run by `dbopt seed --force` before the generator files: empties the workload tables and
-- restarts their identity sequences, so the explicit ids of the seed fit again.
TRUNCATE bots, bot_configs, users, sessions, conversations, messages, events RESTART IDENTITY CASCADE;
