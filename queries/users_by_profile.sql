-- Audience segmentation for a broadcast: users whose JSONB profile contains the segment's
-- attributes, answered by the GIN (jsonb_path_ops) index.
-- name: users_by_profile
-- tier: warm
-- weight: 2
-- params: [[{"lang": "ru"}], [{"country": "KZ", "premium": true}], [{"lang": "uk", "plan": "pro"}]]
-- expect: index users_profile_gin, no-seq-scan
SELECT id, bot_id, telegram_id
FROM users
WHERE profile @> $1::jsonb;
