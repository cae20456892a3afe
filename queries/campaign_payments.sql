-- Campaign analysis: the payment events attributed to a campaign, found by JSONB
-- containment on the events' props through their GIN index.
-- name: campaign_payments
-- tier: warm
-- weight: 1
-- params: [[{"campaign": "black_friday", "currency": "USD"}], [{"campaign": "new_year", "currency": "USD"}]]
-- expect: index events_props_gin, no-seq-scan
SELECT id, user_id, created_at, props ->> 'amount' AS amount
FROM events
WHERE props @> $1::jsonb;
