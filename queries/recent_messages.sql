-- A conversation's last 50 messages (the chat view and the bot's context window), read in
-- index order without a sort. Sampled over short and very long conversations alike.
-- name: recent_messages
-- tier: hot
-- weight: 10
-- params-from: SELECT id FROM conversations WHERE id % 600 = 7 ORDER BY id LIMIT 50
-- expect: index messages_conversation_recent, no-seq-scan
SELECT id, direction, body, created_at
FROM messages
WHERE conversation_id = $1
ORDER BY created_at DESC
LIMIT 50;
