-- Notes stored through POST /api/context: what agents or operators want the policy to remember
-- about a user or a conversation.
CREATE TABLE IF NOT EXISTS policy_context_notes (
  id bigserial PRIMARY KEY,
  user_id text NOT NULL,
  conversation_id text,
  text text NOT NULL,
  tags text[] NOT NULL DEFAULT '{}',
  created_at timestamptz NOT NULL
);
CREATE INDEX IF NOT EXISTS policy_context_notes_user ON policy_context_notes (user_id, created_at DESC);
