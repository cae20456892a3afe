-- Undo the session settings of 01_bots.sql, then give the planner fresh statistics, so plans
-- are realistic right after the seed. The tables are named: a bare ANALYZE run by a role
-- that is not a superuser warns once for every shared catalog it may not analyze.
RESET work_mem;
RESET jit;
ANALYZE bots, bot_configs, users, sessions, conversations, messages, events;
