-- A user's live sessions (wizard state, carts): not revoked and not expired. The partial
-- index leaves revoked sessions out and keeps expiry as a key column.
-- name: live_sessions
-- tier: hot
-- weight: 5
-- params-from: SELECT user_id FROM sessions WHERE NOT revoked ORDER BY id LIMIT 50
-- expect: index sessions_user_live
SELECT id, data, expires_at
FROM sessions
WHERE user_id = $1
  AND NOT revoked
  AND expires_at > now()
ORDER BY expires_at DESC;
