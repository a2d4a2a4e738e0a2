-- The recorded decision of an intent is looked up per intent, ordered by time (pg-history.ts
-- LOAD_SQL). With only an index on intent_id, the planner preferred walking the decided_at index
-- and filtering every row (seconds per batch once the table held ~10^4 decisions); this index
-- serves the lookup and its order together.
DROP INDEX IF EXISTS policy_decisions_intent_idx;
CREATE INDEX IF NOT EXISTS policy_decisions_intent_order_idx ON policy_decisions (intent_id, decided_at, decision_id);
