-- Channels: the pipeline a prompt or delivery belongs to (its TOPIC_PREFIX), so that the scheduler
-- of one environment never expires another's prompts or retries another's deliveries when they
-- share a database (as test runs do).
ALTER TABLE channel_approval_prompts ADD COLUMN IF NOT EXISTS scope text NOT NULL DEFAULT '';
ALTER TABLE channel_deliveries ADD COLUMN IF NOT EXISTS scope text NOT NULL DEFAULT '';
DROP INDEX IF EXISTS channel_approval_prompts_due_idx;
CREATE INDEX IF NOT EXISTS channel_approval_prompts_due_idx ON channel_approval_prompts (scope, deadline_ms)
  WHERE status = 'pending' AND expired_emitted_ms IS NULL;
DROP INDEX IF EXISTS channel_deliveries_retry_idx;
CREATE INDEX IF NOT EXISTS channel_deliveries_retry_idx ON channel_deliveries (scope, next_attempt_ms) WHERE status = 'retry';
