-- Checked on every incoming message: the user's open conversations, most recent first. The
-- partial index holds only the 5 % of conversations that are active.
-- name: active_conversations
-- tier: hot
-- weight: 10
-- params-from: SELECT user_id FROM conversations WHERE status = 'active' ORDER BY id LIMIT 50
-- expect: index conversations_user_active, no-seq-scan
SELECT id, bot_id, context, updated_at
FROM conversations
WHERE user_id = $1
  AND status = 'active'
ORDER BY updated_at DESC
LIMIT 20;
