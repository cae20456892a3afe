-- Messages: exactly 300000 * N rows, generated from seed_conversation_plan (built by
-- 05_conversations.sql in this session): message_count messages per conversation, evenly
-- spread from its created_at to its updated_at, alternating user ('in') and bot ('out').
-- Ids follow time across all conversations (ties broken by conversation and position), so
-- the heap is in arrival order and a conversation's messages are scattered over it, as in
-- production.
DO $$
BEGIN
  IF to_regclass('pg_temp.seed_conversation_plan') IS NULL THEN
    RAISE EXCEPTION 'seed_conversation_plan is missing'
      USING HINT = 'Run 05_conversations.sql in the same session just before this file.';
  END IF;
END
$$;

INSERT INTO messages (id, conversation_id, bot_id, user_id, direction, body, created_at, meta)
OVERRIDING SYSTEM VALUE
SELECT row_number() OVER (ORDER BY m.created_at, m.conversation_id, m.j) AS id,
       m.conversation_id,
       m.bot_id,
       m.user_id,
       CASE WHEN m.j % 2 = 0 THEN 'in' ELSE 'out' END,
       CASE
         WHEN m.j = 0 THEN '/start'
         WHEN m.j % 2 = 1 THEN
           (ARRAY['Hi! How can I help you today?', 'Here is what I found for you:',
                  'Your order has been confirmed.', 'Please choose an option below.',
                  'Thanks, got it!', 'Sorry, I did not understand that. Try /help.',
                  'Your subscription is active until next month.', 'Done! Anything else?',
                  'Payment received, thank you.', 'Here is today''s digest.',
                  'Correct answer! Next question:', 'Reminder set.'])[1 + m.h1 % 12]
           || CASE WHEN m.h1 / 12 % 4 = 0 THEN ' Ref #' || (10000 + m.h2 % 90000) ELSE '' END
         WHEN m.h1 % 100 < 12 THEN
           (ARRAY['/help', '/menu', '/settings', '/cancel', '/buy', '/status', '/lang',
                  '/feedback'])[1 + m.h1 / 100 % 8]
         ELSE
           (ARRAY['hi', 'hello', 'ok', 'thanks', 'please', 'hey', 'yes', 'no', 'wait',
                  'great', 'hmm', 'sure'])[1 + m.h1 % 12]
           || CASE WHEN m.h2 % 3 > 0 THEN
                ' ' || (ARRAY['I want to', 'can you', 'how do I', 'when will you', 'I need to',
                              'is it possible to', 'please help me', 'why can''t I'])[1 + m.h2 / 3 % 8]
                || ' ' || (ARRAY['change my plan', 'see my orders', 'pay by card', 'get a refund',
                                 'talk to a human', 'play again', 'reset my password',
                                 'switch the language', 'track the delivery', 'book a table'])[1 + m.h2 / 24 % 10]
                || (ARRAY['?', '.', '!', ' asap', ' today', ''])[1 + m.h2 / 240 % 6]
              ELSE '' END
       END,
       m.created_at,
       -- a few constant documents: building one per row (jsonb_build_object) would double
       -- the cost of generating the rows
       CASE
         WHEN m.j % 2 = 1 AND m.h2 % 3 = 0 THEN jsonb '{"type": "text", "reply_markup": "inline_keyboard"}'
         WHEN m.j % 2 = 1 THEN jsonb '{"type": "text"}'
         WHEN m.j = 0 OR m.h1 % 100 < 12 THEN jsonb '{"type": "command"}'
         WHEN m.h2 % 50 = 1 THEN jsonb '{"type": "photo", "mime_type": "image/jpeg"}'
         WHEN m.h2 % 50 = 2 THEN jsonb '{"type": "voice", "mime_type": "audio/ogg"}'
         ELSE jsonb '{"type": "text"}'
       END
FROM (
  SELECT p.id AS conversation_id,
         p.bot_id,
         p.user_id,
         g.j,
         p.created_at + (p.span_seconds * g.j / greatest(p.message_count - 1, 1)) * interval '1 second' AS created_at,
         hashint8((p.id * 8192 + g.j) * 8 + 0)::bigint + 2147483648 AS h1,
         hashint8((p.id * 8192 + g.j) * 8 + 1)::bigint + 2147483648 AS h2
  FROM pg_temp.seed_conversation_plan AS p,
       generate_series(0::bigint, p.message_count - 1) AS g(j)
  OFFSET 0  -- computes h1 and h2 once per row, not at every mention below
) AS m;

SELECT setval(pg_get_serial_sequence('messages', 'id'), (SELECT max(id) FROM messages));

DROP TABLE pg_temp.seed_conversation_plan;
