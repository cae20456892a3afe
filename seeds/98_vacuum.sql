-- Set the visibility map after the bulk load, so index-only scans (users_bot_telegram_cover)
-- really skip the heap from the first query on, instead of whenever autovacuum gets to it.
-- VACUUM cannot run in a transaction block: this file holds this one statement only.
VACUUM bots, bot_configs, users, sessions, conversations, messages, events;
