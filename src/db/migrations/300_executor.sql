-- Executor: the single-use guard (one row per approval id ever executed; the primary key is the
-- atomic guard across replicas and restarts), every refusal (audit), and the state the shipped
-- handlers act on: a simulated ledger (accounts and double-entry ledger entries) and the messages
-- sent. Written by consumers/executor/store.ts and consumers/executor/handlers/.

CREATE TABLE IF NOT EXISTS executor_executions (
  approval_id text PRIMARY KEY,
  -- The approvals-topic record that carried it: a redelivery of that record re-emits the result.
  event_id text NOT NULL UNIQUE,
  execution_id text NOT NULL,
  intent_id text NOT NULL,
  decision_id text NOT NULL,
  action_type text NOT NULL,
  key_id text NOT NULL,
  status text NOT NULL CHECK (status IN ('executing', 'executed', 'failed')),
  code text,
  reason text NOT NULL,
  result_json text,
  -- Everything emitted for it (the ExecutionRecorded result and the replies), as emitted.
  outputs_json text NOT NULL,
  executed_at timestamptz NOT NULL,
  recorded_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX IF NOT EXISTS executor_executions_intent_idx ON executor_executions (intent_id);

CREATE TABLE IF NOT EXISTS executor_refusals (
  event_id text PRIMARY KEY,
  execution_id text NOT NULL,
  approval_id text,
  intent_id text NOT NULL,
  decision_id text,
  code text NOT NULL,
  check_name text,
  key_id text,
  reason text NOT NULL,
  outputs_json text NOT NULL,
  refused_at timestamptz NOT NULL,
  recorded_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX IF NOT EXISTS executor_refusals_intent_idx ON executor_refusals (intent_id);
CREATE INDEX IF NOT EXISTS executor_refusals_approval_idx ON executor_refusals (approval_id);

-- Simulated ledger for transfers: balances per account and currency, and one entry per leg.
CREATE TABLE IF NOT EXISTS executor_accounts (
  account text NOT NULL,
  currency text NOT NULL,
  balance_minor bigint NOT NULL,
  opened_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (account, currency)
);

CREATE TABLE IF NOT EXISTS executor_ledger_entries (
  entry_id bigserial PRIMARY KEY,
  approval_id text NOT NULL,
  execution_id text NOT NULL,
  account text NOT NULL,
  currency text NOT NULL,
  amount_minor bigint NOT NULL,
  memo text,
  created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX IF NOT EXISTS executor_ledger_entries_approval_idx ON executor_ledger_entries (approval_id);

-- Messages the message handler sent (delivered through the channels as a reply).
CREATE TABLE IF NOT EXISTS executor_messages (
  approval_id text PRIMARY KEY,
  execution_id text NOT NULL,
  medium text NOT NULL,
  recipient text NOT NULL,
  subject text,
  body text NOT NULL,
  reply_id text NOT NULL,
  sent_at timestamptz NOT NULL
);
