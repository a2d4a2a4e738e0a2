-- Core: records every consumer has processed, for idempotent handling by event id.
CREATE TABLE IF NOT EXISTS processed_events (
  consumer_group text NOT NULL,
  event_id text NOT NULL,
  processed_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (consumer_group, event_id)
);
