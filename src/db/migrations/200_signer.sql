-- Signer ("Bridge"): every decision it has seen, the human answers to each, the approvals it issued
-- (one per decision: a redelivery re-emits the stored envelope instead of signing again), the
-- outputs each consumed event produced (re-emitted verbatim when the event is redelivered after a
-- crash between the PostgreSQL commit and the Kafka commit), and the public keys it published.
-- Written by consumers/signer/store.ts. JSON is stored as text (jsonb refuses \u0000, and the
-- values must come back exactly as they were).

CREATE TABLE IF NOT EXISTS signer_decisions (
  decision_id text PRIMARY KEY,
  intent_id text NOT NULL,
  outcome text NOT NULL CHECK (outcome IN ('allow', 'deny', 'require_human')),
  -- pending: waiting for human answers; signed; denied (by an approver); expired;
  -- not_signable: a deny decision, or one the signer's re-check refused (status_code says why).
  status text NOT NULL CHECK (status IN ('pending', 'signed', 'denied', 'expired', 'not_signable')),
  status_code text,
  deadline timestamptz,
  decision_json text NOT NULL,
  received_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX IF NOT EXISTS signer_decisions_pending_idx ON signer_decisions (deadline) WHERE status = 'pending';
CREATE INDEX IF NOT EXISTS signer_decisions_intent_idx ON signer_decisions (intent_id);

CREATE TABLE IF NOT EXISTS signer_responses (
  response_id text PRIMARY KEY,
  decision_id text NOT NULL,
  approver_user_id text NOT NULL,
  verdict text NOT NULL CHECK (verdict IN ('approve', 'deny', 'expired')),
  -- orphan: arrived before its decision; accepted: counts; refused: kept for audit, counts for nothing.
  status text NOT NULL CHECK (status IN ('orphan', 'accepted', 'refused')),
  code text,
  reason text,
  response_json text NOT NULL,
  responded_at timestamptz NOT NULL,
  received_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX IF NOT EXISTS signer_responses_decision_idx ON signer_responses (decision_id);
-- One counted answer per approver and decision.
CREATE UNIQUE INDEX IF NOT EXISTS signer_responses_one_per_approver ON signer_responses (decision_id, approver_user_id) WHERE status = 'accepted';

CREATE TABLE IF NOT EXISTS signer_approvals (
  decision_id text PRIMARY KEY,
  approval_id text NOT NULL UNIQUE,
  intent_id text NOT NULL,
  key_id text NOT NULL,
  origin text NOT NULL,
  -- The ApprovalSigned event as emitted, envelope in its JSON form (base64 payload and signature).
  event_json text NOT NULL,
  issued_at timestamptz NOT NULL,
  expires_at timestamptz NOT NULL,
  signed_via text NOT NULL CHECK (signed_via IN ('consumer', 'http')),
  signed_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE IF NOT EXISTS signer_outputs (
  event_id text PRIMARY KEY,
  outputs_json text NOT NULL,
  processed_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE IF NOT EXISTS signer_keys (
  key_id text PRIMARY KEY,
  origin text NOT NULL,
  status text NOT NULL CHECK (status IN ('active', 'retired', 'revoked')),
  -- RFC 8785 JSON of the record's JWK entry (src/approval/keys/jwks.ts serializeKeyRecord).
  record_json text NOT NULL,
  published_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now()
);
