-- Channels ("OpenClaw"): conversations and their message history, what was delivered where, and
-- the approval prompts waiting for a human (with the platform messages that show them). Written by
-- producers/channels/store.ts. Times used by the service's logic are epoch milliseconds (bigint)
-- passed in from its clock; timestamptz columns are for people reading the tables.
-- Text columns hold NUL and lone surrogates replaced by U+FFFD.

CREATE TABLE IF NOT EXISTS channel_conversations (
  channel text NOT NULL,
  conversation_id text NOT NULL,
  -- The canonical user who opened it (the first sender).
  user_id text NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  last_activity_ms bigint NOT NULL,
  PRIMARY KEY (channel, conversation_id)
);

-- Every message in and out, once: message_key is "in:<channel>:<conversation>:<platform message id>"
-- for what people and agents send, "reply:<replyId>" for what Sentinel answers (replies are
-- de-duplicated by this unique key before anything is delivered).
CREATE TABLE IF NOT EXISTS channel_messages (
  seq bigserial PRIMARY KEY,
  message_key text NOT NULL UNIQUE,
  channel text NOT NULL,
  conversation_id text NOT NULL,
  direction text NOT NULL CHECK (direction IN ('in', 'out')),
  -- in: message | tool_call | approval_answer; out: outcome | approval_prompt | approval_update | clarification | info
  kind text NOT NULL,
  -- in: the sender's canonical user id; out: the recipient (user id or role:<name>), null = the conversation.
  user_id text,
  intent_id text,
  reply_id text,
  decision_id text,
  text text NOT NULL,
  trace_id text,
  at_ms bigint NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX IF NOT EXISTS channel_messages_conversation_idx ON channel_messages (channel, conversation_id, seq);
CREATE INDEX IF NOT EXISTS channel_messages_reply_idx ON channel_messages (reply_id) WHERE reply_id IS NOT NULL;

-- One row per reply and destination: a platform conversation, a person's direct message, a prompt
-- card to edit, or a web chat identity. Transient platform failures are retried (status retry,
-- next_attempt_ms); permanent ones end as failed with the error; web deliveries wait for the
-- person to be connected (status waiting) and are completed at their next sign-in.
CREATE TABLE IF NOT EXISTS channel_deliveries (
  reply_id text NOT NULL,
  channel text NOT NULL,
  target_key text NOT NULL,
  target jsonb NOT NULL,
  operation text NOT NULL CHECK (operation IN ('text', 'prompt', 'update')),
  recipient_user_id text,
  decision_id text,
  status text NOT NULL CHECK (status IN ('pending', 'delivered', 'waiting', 'retry', 'failed', 'skipped')),
  attempts integer NOT NULL DEFAULT 0,
  next_attempt_ms bigint,
  last_error text,
  message_ref jsonb,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (reply_id, channel, target_key)
);
CREATE INDEX IF NOT EXISTS channel_deliveries_retry_idx ON channel_deliveries (next_attempt_ms) WHERE status = 'retry';
CREATE INDEX IF NOT EXISTS channel_deliveries_waiting_idx ON channel_deliveries (channel, target_key) WHERE status = 'waiting';

-- Approval prompts: one row per decision that waits for a human. The expiry scheduler emits one
-- "expired" HumanApprovalResponded per row at its deadline (expired_emitted_ms set in the same
-- transaction that held the row with FOR UPDATE SKIP LOCKED).
CREATE TABLE IF NOT EXISTS channel_approval_prompts (
  decision_id text PRIMARY KEY,
  intent_id text NOT NULL,
  -- The conversation that started the request.
  channel text NOT NULL,
  conversation_id text NOT NULL,
  requester_user_id text NOT NULL,
  -- The latest ApprovalPrompt (JSON), status and who decided included.
  prompt jsonb NOT NULL,
  status text NOT NULL CHECK (status IN ('pending', 'approved', 'denied', 'expired')),
  deadline_ms bigint NOT NULL,
  -- Canonical user ids the prompt was sent to (approver entries expanded through the identity links).
  prompted_users text[] NOT NULL,
  trace_id text,
  span_id text,
  expired_emitted_ms bigint,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX IF NOT EXISTS channel_approval_prompts_due_idx ON channel_approval_prompts (deadline_ms)
  WHERE status = 'pending' AND expired_emitted_ms IS NULL;

-- The platform messages showing each prompt (PromptRef), edited when its status changes.
CREATE TABLE IF NOT EXISTS channel_prompt_refs (
  decision_id text NOT NULL,
  channel text NOT NULL,
  conversation_id text NOT NULL,
  message_id text NOT NULL,
  recipient_user_id text,
  created_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (decision_id, channel, conversation_id, message_id)
);
