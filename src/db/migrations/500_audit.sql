-- Audit trail (docs/audit.md): an append-only hash chain of every intent, decision, human answer,
-- signed approval, refusal and execution, with signed checkpoints. Written by src/audit/store.ts
-- (the sentinel-audit consumer); verified by `sentinel audit verify`.

CREATE TABLE IF NOT EXISTS audit_log (
  chain_id text NOT NULL,
  sequence bigint NOT NULL CHECK (sequence >= 1),
  kind text NOT NULL CHECK (kind IN ('intent', 'decision', 'human_approval', 'approval', 'refusal', 'execution', 'checkpoint')),
  subject_id text NOT NULL,
  -- The recorded event's id (each event is recorded once); "checkpoint:<sequence>" for checkpoints.
  event_id text NOT NULL,
  -- For a checkpoint: the event after which it was taken (null when the timer took it).
  caused_by text,
  correlation_id text NOT NULL,
  -- RFC 8785 JSON of the recorded fields; for a checkpoint, its signed payload.
  record_json text NOT NULL,
  previous_hash text NOT NULL,
  hash text NOT NULL,
  -- A checkpoint's DSSE envelope in its JSON form (base64 payload and signature).
  checkpoint_json text,
  recorded_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (chain_id, sequence),
  UNIQUE (chain_id, event_id)
);
CREATE INDEX IF NOT EXISTS audit_log_caused_by_idx ON audit_log (chain_id, caused_by) WHERE caused_by IS NOT NULL;

-- Append-only: the application never updates or deletes a link. The hash chain and the signed
-- checkpoints make any change made around this guard (by a superuser, on the disk, in a backup)
-- detectable by `sentinel audit verify`.
CREATE OR REPLACE FUNCTION audit_log_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION 'audit_log is append-only: % refused', TG_OP USING ERRCODE = 'insufficient_privilege';
END
$$;
DROP TRIGGER IF EXISTS audit_log_no_change ON audit_log;
CREATE TRIGGER audit_log_no_change BEFORE UPDATE OR DELETE ON audit_log FOR EACH ROW EXECUTE FUNCTION audit_log_append_only();
DROP TRIGGER IF EXISTS audit_log_no_truncate ON audit_log;
CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log FOR EACH STATEMENT EXECUTE FUNCTION audit_log_append_only();

-- The head of each chain: appenders lock this row, so links get their sequence one writer at a time.
CREATE TABLE IF NOT EXISTS audit_heads (
  chain_id text PRIMARY KEY,
  sequence bigint NOT NULL,
  hash text NOT NULL,
  checkpoint_sequence bigint NOT NULL DEFAULT 0,
  checkpoint_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now()
);

-- Checkpoints taken by the timer (not in reply to a consumed event) once they are on the audit topic.
CREATE TABLE IF NOT EXISTS audit_publications (
  chain_id text NOT NULL,
  sequence bigint NOT NULL,
  published_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (chain_id, sequence)
);
