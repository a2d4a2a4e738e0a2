// PostgreSQL adapter of HistoryStore (tables of src/db/migrations/100_policy_memory.sql).
// A batch is loaded with one query and recorded with one statement; recording is idempotent by
// decision id (primary key), and only newly inserted decisions update users and counterparties.
import type pg from 'pg';
import { asDependencyError } from '../../db/pg.ts';
import type { Decision, Intent } from '../../domain/types.ts';
import { commitsAction, counterpartyOf } from '../context.ts';
import type { HistoryFacts, HistoryQuery, HistoryStore } from './types.ts';

const MS = `* interval '1 millisecond'`;
const TO_MS = (column: string) => `(extract(epoch FROM ${column}) * 1000)::bigint`;

const LOAD_SQL = `
SELECT q.idx,
       ${TO_MS('c.first_seen_at')} AS counterparty_first_seen,
       ${TO_MS('u.first_seen_at')} AS user_first_seen,
       coalesce(u.decisions_total, 0) AS decisions_total,
       p.decision_json AS previous
FROM unnest($1::text[], $2::text[], $3::text[], $4::text[]) WITH ORDINALITY AS q(user_id, kind, counterparty, intent_id, idx)
LEFT JOIN policy_counterparties c ON c.user_id = q.user_id AND c.kind = q.kind AND c.counterparty = q.counterparty
LEFT JOIN policy_users u ON u.user_id = q.user_id
LEFT JOIN LATERAL (
  SELECT d.decision_json FROM policy_decisions d WHERE d.intent_id = q.intent_id ORDER BY d.decided_at, d.decision_id LIMIT 1
) p ON true
ORDER BY q.idx`;

// $1 is a JSON array of rows built by toRow(): column values already made storable.
const RECORD_SQL = `
WITH input AS (
  SELECT r->>'decisionId' AS decision_id, r->>'intentId' AS intent_id, r->>'userId' AS user_id, r->>'actionType' AS action_type,
         r->>'outcome' AS outcome, r->>'riskTier' AS risk_tier, (r->>'riskScore')::smallint AS risk_score,
         ARRAY(SELECT jsonb_array_elements_text(r->'firedRules')) AS fired_rules, r->>'reason' AS reason,
         r->>'policyVersion' AS policy_version, r->>'policyDigest' AS policy_digest, r->>'actionDigest' AS action_digest,
         r->>'contextDigest' AS context_digest, r->>'kind' AS kind, r->>'name' AS name, (r->>'amountMinor')::bigint AS amount_minor,
         r->>'currency' AS currency, r->>'json' AS decision_json, (r->>'commits')::boolean AS commits,
         timestamptz 'epoch' + (r->>'decidedAt')::bigint ${MS} AS decided_at
  FROM jsonb_array_elements($1::jsonb) AS r
),
inserted AS (
  INSERT INTO policy_decisions (decision_id, intent_id, user_id, action_type, outcome, risk_tier, risk_score, fired_rules,
    reason, policy_version, policy_digest, action_digest, context_digest, counterparty_kind, counterparty, amount_minor, currency,
    decision_json, decided_at)
  SELECT decision_id, intent_id, user_id, action_type, outcome, risk_tier, risk_score, fired_rules,
    reason, policy_version, policy_digest, action_digest, context_digest, kind, name, amount_minor, currency,
    decision_json, decided_at
  FROM input
  ORDER BY decision_id
  ON CONFLICT (decision_id) DO NOTHING
  RETURNING decision_id
),
fresh AS (
  SELECT input.* FROM inserted JOIN input USING (decision_id)
),
users AS (
  INSERT INTO policy_users (user_id, first_seen_at, decisions_total, denials_total)
  SELECT user_id, min(decided_at), count(*), count(*) FILTER (WHERE outcome = 'deny') FROM fresh GROUP BY user_id ORDER BY user_id
  ON CONFLICT (user_id) DO UPDATE SET
    first_seen_at = LEAST(policy_users.first_seen_at, EXCLUDED.first_seen_at),
    decisions_total = policy_users.decisions_total + EXCLUDED.decisions_total,
    denials_total = policy_users.denials_total + EXCLUDED.denials_total
),
parties AS (
  INSERT INTO policy_counterparties (user_id, kind, counterparty, first_seen_at, first_decision_id, last_seen_at)
  SELECT DISTINCT ON (user_id, kind, name) user_id, kind, name, decided_at, decision_id,
         max(decided_at) OVER (PARTITION BY user_id, kind, name)
  FROM fresh WHERE commits AND name IS NOT NULL
  ORDER BY user_id, kind, name, decided_at, decision_id
  ON CONFLICT (user_id, kind, counterparty) DO UPDATE SET
    first_decision_id = CASE WHEN EXCLUDED.first_seen_at < policy_counterparties.first_seen_at
                             THEN EXCLUDED.first_decision_id ELSE policy_counterparties.first_decision_id END,
    first_seen_at = LEAST(policy_counterparties.first_seen_at, EXCLUDED.first_seen_at),
    last_seen_at = GREATEST(policy_counterparties.last_seen_at, EXCLUDED.last_seen_at)
)
SELECT count(*)::int AS recorded FROM inserted`;

/**
 * PostgreSQL text cannot hold NUL, and jsonb refuses lone surrogates: values that a user's message
 * may carry. Query columns get them replaced by U+FFFD (the same on write and on lookup); the decision
 * itself is stored as JSON text, whose escapes keep it exact.
 */
export function storableText(value: string): string {
  return value.toWellFormed().replaceAll('\u0000', '\uFFFD');
}

function optionalText(value: string | null | undefined): string | null {
  return value === null || value === undefined ? null : storableText(value);
}

function toRow(d: Decision) {
  const party = counterpartyOf(d.action);
  return {
    decisionId: storableText(d.decisionId),
    intentId: storableText(d.intentId),
    userId: storableText(d.requester.userId),
    actionType: storableText(d.action.type),
    outcome: d.outcome,
    riskTier: d.risk.tier,
    riskScore: d.risk.score,
    firedRules: d.firedRules.map(storableText),
    reason: storableText(d.reason),
    policyVersion: storableText(d.policyVersion),
    policyDigest: d.policyDigest,
    actionDigest: d.actionDigest,
    contextDigest: d.context.digest,
    kind: party?.kind ?? null,
    name: optionalText(party?.name),
    amountMinor: d.action.type === 'transfer' ? d.action.amountMinor : null,
    currency: d.action.type === 'transfer' ? storableText(d.action.currency) : null,
    json: JSON.stringify(d),
    commits: commitsAction(d),
    decidedAt: d.decidedAt,
  };
}

const RETRYABLE_CONFLICTS = new Set(['40P01', '40001']); // deadlock, serialization failure

function optionalMs(value: string | number | null): number | null {
  return value === null ? null : Number(value);
}

export class PostgresHistoryStore implements HistoryStore {
  private readonly pool: pg.Pool;

  constructor(pool: pg.Pool) {
    this.pool = pool;
  }

  async loadMany(intents: readonly Intent[]): Promise<HistoryFacts[]> {
    if (intents.length === 0) return [];
    const users: string[] = [];
    const kinds: Array<string | null> = [];
    const names: Array<string | null> = [];
    const intentIds: string[] = [];
    for (const intent of intents) {
      const party = counterpartyOf(intent.action);
      users.push(storableText(intent.requester.userId));
      kinds.push(party?.kind ?? null);
      names.push(optionalText(party?.name));
      intentIds.push(storableText(intent.intentId));
    }
    const result = await this.query<{
      counterparty_first_seen: string | null; user_first_seen: string | null; decisions_total: string; previous: string | null;
    }>(LOAD_SQL, [users, kinds, names, intentIds]);
    return result.rows.map((row) => ({
      counterpartyFirstSeenAt: optionalMs(row.counterparty_first_seen),
      userFirstSeenAt: optionalMs(row.user_first_seen),
      userDecisionsTotal: Number(row.decisions_total),
      previous: row.previous === null ? null : (JSON.parse(row.previous) as Decision),
    }));
  }

  async record(decisions: readonly Decision[]): Promise<number> {
    if (decisions.length === 0) return 0;
    const payload = JSON.stringify(decisions.map(toRow));
    for (let attempt = 1; ; attempt++) {
      try {
        const result = await this.query<{ recorded: number }>(RECORD_SQL, [payload]);
        return result.rows[0]!.recorded;
      } catch (error) {
        const code = (error as { code?: string }).code;
        if (attempt >= 3 || code === undefined || !RETRYABLE_CONFLICTS.has(code)) throw error;
      }
    }
  }

  async findByIntent(intentId: string): Promise<Decision[]> {
    const result = await this.query<{ decision_json: string }>(
      'SELECT decision_json FROM policy_decisions WHERE intent_id = $1 ORDER BY decided_at, decision_id', [storableText(intentId)]);
    return result.rows.map((r) => JSON.parse(r.decision_json) as Decision);
  }

  findByUser(userId: string, query: HistoryQuery = {}): Promise<Decision[]> {
    return this.findWhere('user_id = $1', userId, query);
  }

  findByRule(ruleId: string, query: HistoryQuery = {}): Promise<Decision[]> {
    return this.findWhere('fired_rules @> ARRAY[$1::text]', ruleId, query);
  }

  private async findWhere(condition: string, value: string, query: HistoryQuery): Promise<Decision[]> {
    const limit = Math.min(Math.max(query.limit ?? 100, 1), 1000);
    const result = await this.query<{ decision_json: string }>(
      `SELECT decision_json FROM policy_decisions
       WHERE ${condition}
         AND ($2::bigint IS NULL OR decided_at >= timestamptz 'epoch' + $2::bigint ${MS})
         AND ($3::bigint IS NULL OR decided_at < timestamptz 'epoch' + $3::bigint ${MS})
       ORDER BY decided_at DESC, decision_id DESC
       LIMIT $4`,
      [storableText(value), query.since ?? null, query.before ?? null, limit]);
    return result.rows.map((r) => JSON.parse(r.decision_json) as Decision);
  }

  private async query<R extends pg.QueryResultRow>(sql: string, params: unknown[]): Promise<pg.QueryResult<R>> {
    try {
      return await this.pool.query<R>(sql, params);
    } catch (error) {
      throw asDependencyError(error);
    }
  }
}
