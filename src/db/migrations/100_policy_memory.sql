-- Policy memory: every decision the policy consumer emitted, the users' payees and recipients with
-- the time each was first used, and per-user totals. Written by src/policy/store/pg-history.ts.
-- Text columns other than decision_json hold NUL and lone surrogates replaced by U+FFFD.

CREATE TABLE IF NOT EXISTS policy_decisions (
  decision_id text PRIMARY KEY,
  intent_id text NOT NULL,
  user_id text NOT NULL,
  action_type text NOT NULL,
  outcome text NOT NULL CHECK (outcome IN ('allow', 'deny', 'require_human')),
  risk_tier text NOT NULL CHECK (risk_tier IN ('low', 'medium', 'high')),
  risk_score smallint NOT NULL CHECK (risk_score BETWEEN 0 AND 100),
  fired_rules text[] NOT NULL,
  reason text NOT NULL,
  policy_version text NOT NULL,
  policy_digest text NOT NULL,
  action_digest text NOT NULL,
  context_digest text NOT NULL,
  counterparty_kind text CHECK (counterparty_kind IN ('payee', 'recipient')),
  counterparty text,
  amount_minor bigint,
  currency text,
  -- The whole decision as emitted (context.snapshotJson included), for replay and the HTTP API.
  -- JSON text rather than jsonb: jsonb refuses \u0000, which a user's message may contain, and the
  -- decision must come back exactly as emitted. Query it with decision_json::jsonb when needed.
  decision_json text NOT NULL,
  decided_at timestamptz NOT NULL,
  recorded_at timestamptz NOT NULL DEFAULT now()
);

CREATE INDEX IF NOT EXISTS policy_decisions_intent_idx ON policy_decisions (intent_id);
CREATE INDEX IF NOT EXISTS policy_decisions_user_time_idx ON policy_decisions (user_id, decided_at DESC);
CREATE INDEX IF NOT EXISTS policy_decisions_time_idx ON policy_decisions (decided_at);
CREATE INDEX IF NOT EXISTS policy_decisions_fired_rules_idx ON policy_decisions USING gin (fired_rules);

CREATE TABLE IF NOT EXISTS policy_counterparties (
  user_id text NOT NULL,
  kind text NOT NULL CHECK (kind IN ('payee', 'recipient')),
  -- Normalised (trimmed, lower case) as in src/policy/context.ts counterpartyOf.
  counterparty text NOT NULL,
  first_seen_at timestamptz NOT NULL,
  first_decision_id text NOT NULL,
  last_seen_at timestamptz NOT NULL,
  PRIMARY KEY (user_id, kind, counterparty)
);

CREATE TABLE IF NOT EXISTS policy_users (
  user_id text PRIMARY KEY,
  first_seen_at timestamptz NOT NULL,
  decisions_total bigint NOT NULL DEFAULT 0,
  denials_total bigint NOT NULL DEFAULT 0
);
