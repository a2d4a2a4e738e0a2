// PostgreSQL history of decisions (migration 100): what is stored, how it is queried by intent,
// user, rule and time, idempotency under concurrent recording, and failure when the database is away.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { test } from 'node:test';
import { createPool } from '../../../src/db/pg.ts';
import type { Decision } from '../../../src/domain/types.ts';
import { isSentinelError } from '../../../src/errors/index.ts';
import { decide } from '../../../src/policy/decide.ts';
import { deriveDecisionId } from '../../../src/policy/ids.ts';
import { replayDecision } from '../../../src/policy/replay.ts';
import { PostgresHistoryStore } from '../../../src/policy/store/pg-history.ts';
import { calmContext, command, defaultRuleSet, HOUR, intentFor, MINUTE, NOW, transfer } from '../../support/policy-fixtures.ts';
import { policyPool, policyTestConfig } from '../../support/policy-infra.ts';

async function decisionFor(action: Parameters<typeof intentFor>[0], userId: string, at: number): Promise<Decision> {
  const intent = intentFor(action, { userId });
  return decide(intent, calmContext(), await defaultRuleSet(), { now: at, decisionId: deriveDecisionId(intent.intentId) });
}

test('the migration creates the history tables, with a GIN index on fired rule ids', async (t) => {
  const pool = await policyPool(t);
  const tables = await pool.query<{ table_name: string }>(
    "SELECT table_name FROM information_schema.tables WHERE table_name LIKE 'policy_%' ORDER BY table_name");
  const names = tables.rows.map((r) => r.table_name);
  for (const table of ['policy_counterparties', 'policy_decisions', 'policy_users']) assert.ok(names.includes(table), table);
  const index = await pool.query<{ indexdef: string }>("SELECT indexdef FROM pg_indexes WHERE indexname = 'policy_decisions_fired_rules_idx'");
  assert.match(index.rows[0]!.indexdef, /USING gin \(fired_rules\)/);
  const version = await pool.query('SELECT 1 FROM schema_migrations WHERE version = 100');
  assert.equal(version.rowCount, 1);
});

test('a stored decision comes back whole and still replays; columns hold what queries need', async (t) => {
  const pool = await policyPool(t);
  const history = new PostgresHistoryStore(pool);
  const userId = `u-${randomUUID()}`;
  const decision = await decisionFor(transfer(150_000, 'Acme Ltd'), userId, NOW);
  assert.equal(await history.record([decision]), 1);
  const [stored] = await history.findByIntent(decision.intentId);
  assert.deepEqual(stored, decision);
  assert.equal(replayDecision(stored!, await defaultRuleSet()).matches, true);
  const json = await pool.query<{ outcome: string }>("SELECT decision_json::jsonb->>'outcome' AS outcome FROM policy_decisions WHERE decision_id = $1", [decision.decisionId]);
  assert.equal(json.rows[0]!.outcome, 'require_human', 'decision_json is queryable as jsonb');
  const row = await pool.query('SELECT * FROM policy_decisions WHERE decision_id = $1', [decision.decisionId]);
  assert.deepEqual(
    { ...row.rows[0], decision_json: undefined, recorded_at: undefined },
    {
      decision_id: decision.decisionId, intent_id: decision.intentId, user_id: userId, action_type: 'transfer', outcome: 'require_human',
      risk_tier: decision.risk.tier, risk_score: decision.risk.score, fired_rules: decision.firedRules, reason: decision.reason,
      policy_version: decision.policyVersion, policy_digest: decision.policyDigest, action_digest: decision.actionDigest,
      context_digest: decision.context.digest, counterparty_kind: 'payee', counterparty: 'acme ltd', amount_minor: '150000', currency: 'USD',
      decision_json: undefined, decided_at: new Date(NOW), recorded_at: undefined,
    },
  );
});

test('NUL characters and lone surrogates from users are stored, and the decision comes back exactly', async (t) => {
  const history = new PostgresHistoryStore(await policyPool(t));
  // A lone surrogate cannot be in an action (canonicalisation refuses it) but can be in a user id.
  const userId = `u-${randomUUID()}\u0000\uD800`;
  const decision = await decisionFor({ type: 'transfer', amountMinor: 500, currency: 'USD', payee: 'Ev\u0000il', memo: 'x\u0000y' }, userId, NOW);
  assert.equal(await history.record([decision]), 1);
  assert.deepEqual(await history.findByIntent(decision.intentId), [decision]);
  assert.deepEqual((await history.findByUser(userId)).map((d) => d.decisionId), [decision.decisionId]);
  const [facts] = await history.loadMany([intentFor(transfer(1, 'EV\u0000IL'), { userId })]);
  assert.equal(facts!.counterpartyFirstSeenAt, NOW, 'the payee is found again under the same stored name');
  assert.deepEqual(facts!.previous, null);
  const [again] = await history.loadMany([{ ...intentFor(transfer(1), { userId }), intentId: decision.intentId }]);
  assert.deepEqual(again!.previous, decision);
});

test('queries by user and by fired rule, newest first, bounded by time and limit', async (t) => {
  const history = new PostgresHistoryStore(await policyPool(t));
  const userId = `u-${randomUUID()}`;
  const decisions = [
    await decisionFor(transfer(5_000), userId, NOW - 3 * HOUR),
    await decisionFor(command('sudo reboot'), userId, NOW - 2 * HOUR),
    await decisionFor(transfer(150_000), userId, NOW - HOUR),
    await decisionFor(transfer(5_000), `other-${randomUUID()}`, NOW - HOUR),
  ];
  assert.equal(await history.record(decisions), 4);
  const ids = (list: Decision[]) => list.map((d) => d.decisionId);
  assert.deepEqual(ids(await history.findByUser(userId)), [decisions[2]!, decisions[1]!, decisions[0]!].map((d) => d.decisionId));
  assert.deepEqual(ids(await history.findByUser(userId, { limit: 1 })), [decisions[2]!.decisionId]);
  assert.deepEqual(ids(await history.findByUser(userId, { since: NOW - 2 * HOUR, before: NOW - HOUR })), [decisions[1]!.decisionId]);
  const byRule = await history.findByRule('human-command-always-ask', { since: NOW - 2 * HOUR - MINUTE, before: NOW - 2 * HOUR + MINUTE });
  assert.ok(ids(byRule).includes(decisions[1]!.decisionId));
  assert.ok(byRule.every((d) => d.firedRules.includes('human-command-always-ask')));
});

test('two replicas recording the same decisions concurrently store and count each once', async (t) => {
  const [poolA, poolB] = [await policyPool(t), await policyPool(t)];
  const [a, b] = [new PostgresHistoryStore(poolA), new PostgresHistoryStore(poolB)];
  const userId = `u-${randomUUID()}`;
  const decisions = await Promise.all(Array.from({ length: 40 }, (_, i) => decisionFor(transfer(100 + i, `payee-${i % 5}`), userId, NOW - i * MINUTE)));
  const chunks = (list: Decision[], size: number) => Array.from({ length: Math.ceil(list.length / size) }, (_, i) => list.slice(i * size, (i + 1) * size));
  const counts = await Promise.all([
    ...chunks(decisions, 7).map((c) => a.record(c)),
    ...chunks([...decisions].reverse(), 9).map((c) => b.record(c)),
  ]);
  assert.equal(counts.reduce((x, y) => x + y, 0), 40);
  const [facts] = await a.loadMany([intentFor(transfer(1, 'payee-3'), { userId })]);
  assert.equal(facts!.userDecisionsTotal, 40);
  assert.equal(facts!.userFirstSeenAt, NOW - 39 * MINUTE);
  assert.equal(facts!.counterpartyFirstSeenAt, NOW - 38 * MINUTE, 'payee-3 was first used by decision 38');
  const rows = await poolA.query('SELECT count(*)::int AS n FROM policy_decisions WHERE user_id = $1', [userId]);
  assert.equal(rows.rows[0].n, 40);
});

test('an unreachable database is SNT_DEPENDENCY_UNAVAILABLE (retriable)', async () => {
  const config = await policyTestConfig();
  const pool = createPool({ ...config.postgres, port: 1 }, { max: 1 });
  try {
    const history = new PostgresHistoryStore(pool);
    await assert.rejects(history.loadMany([intentFor(transfer(1))]), (error: unknown) =>
      isSentinelError(error, 'SNT_DEPENDENCY_UNAVAILABLE') && error.retriable);
    await assert.rejects(history.record([await decisionFor(transfer(1), 'u', NOW)]), (error: unknown) => isSentinelError(error, 'SNT_DEPENDENCY_UNAVAILABLE'));
  } finally {
    await pool.end();
  }
});
