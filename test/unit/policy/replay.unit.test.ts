// Replay re-evaluates a recorded decision from its own snapshot; decideBatch threads earlier
// decisions of a batch into later contexts of the same user; decision ids derive from intent ids.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { sha256Tagged } from '../../../src/canonical/digest.ts';
import { decideBatch } from '../../../src/policy/batch.ts';
import { applyDecision } from '../../../src/policy/context.ts';
import { decide } from '../../../src/policy/decide.ts';
import { deriveDecisionId, uuidFromName } from '../../../src/policy/ids.ts';
import { replayDecision } from '../../../src/policy/replay.ts';
import { parseRuleSet } from '../../../src/policy/ruleset.ts';
import { readFile } from 'node:fs/promises';
import { calmContext, CONSTITUTION_PATH, DAY, defaultRuleSet, email, HOUR, intentFor, MINUTE, NOW, transfer } from '../../support/policy-fixtures.ts';

describe('replayDecision', () => {
  test('a recorded decision replays to itself from its snapshot alone (through JSON, as read from Kafka or PostgreSQL)', async () => {
    const ruleSet = await defaultRuleSet();
    const decision = decide(intentFor(transfer(150_000), { source: 'agent', extraction: { extractor: 'x', confidence: 0.6 } }),
      calmContext({ actionsLast10Min: 11, nearestDeniedSimilarity: 0.95, nearestDeniedIntentId: 'old' }), ruleSet, { now: NOW, decisionId: 'd-1' });
    const result = replayDecision(JSON.parse(JSON.stringify(decision)), ruleSet);
    assert.deepEqual(result.differences, []);
    assert.equal(result.matches, true);
    assert.deepEqual(result.replayed, decision);
  });

  test('a tampered outcome, snapshot or digest is reported', async () => {
    const ruleSet = await defaultRuleSet();
    const decision = decide(intentFor(transfer(150_000)), calmContext(), ruleSet, { now: NOW, decisionId: 'd-2' });

    const allowed = replayDecision({ ...decision, outcome: 'allow' }, ruleSet);
    assert.equal(allowed.matches, false);
    assert.deepEqual(allowed.differences, ['outcome: recorded "allow", replayed "require_human"']);

    const snapshotJson = decision.context.snapshotJson.replace('"transferredTodayMinor":0', '"transferredTodayMinor":4990000');
    const forged = replayDecision({ ...decision, context: { snapshotJson, digest: sha256Tagged(snapshotJson) } }, ruleSet);
    assert.equal(forged.matches, false);
    assert.ok(forged.differences.some((d) => d.startsWith('outcome:')), forged.differences.join('\n'));

    const mismatched = replayDecision({ ...decision, context: { ...decision.context, digest: 'sha256:00' } }, ruleSet);
    assert.ok(mismatched.differences.some((d) => d.startsWith('context.digest: does not match')));
  });

  test('replaying with another rule set names both policy digests', async () => {
    const ruleSet = await defaultRuleSet();
    const decision = decide(intentFor(transfer(150_000)), calmContext(), ruleSet, { now: NOW, decisionId: 'd-3' });
    const stricter = parseRuleSet((await readFile(CONSTITUTION_PATH, 'utf8')).replace('{ field: action.amountMinor, gt: 100000 }', '{ field: action.amountMinor, gt: 200000 }'));
    const result = replayDecision(decision, stricter);
    assert.equal(result.matches, false);
    assert.match(result.differences[0]!, new RegExp(`^policyDigest: recorded ${decision.policyDigest}`));
    assert.ok(result.differences.some((d) => d.startsWith('outcome:')));
  });

  test('an unreadable snapshot is a difference, not a crash', async () => {
    const ruleSet = await defaultRuleSet();
    const decision = decide(intentFor(transfer(1)), calmContext(), ruleSet, { now: NOW, decisionId: 'd-4' });
    const result = replayDecision({ ...decision, context: { snapshotJson: '{"v":99}', digest: sha256Tagged('{"v":99}') } }, ruleSet);
    assert.equal(result.matches, false);
    assert.equal(result.replayed, null);
    assert.match(result.differences.join('\n'), /unsupported context snapshot version 99/);
  });
});

describe('decideBatch', () => {
  test('two large transfers of one user in one batch cannot both slip under the daily limit', async () => {
    const ruleSet = await defaultRuleSet();
    const context = calmContext({ transferredTodayMinor: 3_000_000 });
    const items = [
      { intent: intentFor(transfer(1_500_000), { userId: 'u1' }), context },
      { intent: intentFor(transfer(1_500_000), { userId: 'u2' }), context },
      { intent: intentFor(transfer(1_500_000), { userId: 'u1' }), context },
    ];
    const decisions = decideBatch(items, ruleSet, { now: NOW, decisionIdFor: (i) => deriveDecisionId(i.intentId) });
    assert.deepEqual(decisions.map((d) => d.outcome), ['require_human', 'require_human', 'deny']);
    assert.ok(decisions[2]!.firedRules.includes('deny-transfer-over-daily-limit'));
    assert.deepEqual(decisions.map((d) => d.decisionId), items.map((i) => deriveDecisionId(i.intent.intentId)));
    // Each decision replays from the context it actually used.
    for (const d of decisions) assert.equal(replayDecision(d, ruleSet).matches, true);
  });

  test('a batch of one is exactly decide', async () => {
    const ruleSet = await defaultRuleSet();
    const intent = intentFor(transfer(5_000));
    const [batched] = decideBatch([{ intent, context: calmContext() }], ruleSet, { now: NOW, decisionIdFor: () => 'x' });
    assert.deepEqual(batched, decide(intent, calmContext(), ruleSet, { now: NOW, decisionId: 'x' }));
  });
});

describe('applyDecision', () => {
  test('adds a committed transfer to the day total, windows and counterparty of the same user', async () => {
    const ruleSet = await defaultRuleSet();
    const earlier = decide(intentFor(transfer(10_000, 'Eve'), { userId: 'u' }), calmContext({ counterpartyFirstSeenAt: null }), ruleSet, { now: NOW - 20 * MINUTE, decisionId: 'e' });
    const next = applyDecision(calmContext({ counterpartyFirstSeenAt: null, userDecisionsTotal: 3 }), intentFor(transfer(1, ' eve'), { userId: 'u' }), earlier, NOW);
    assert.deepEqual(
      [next.transferredTodayMinor, next.transfersToday, next.actionsLast10Min, next.actionsLastHour, next.counterpartyFirstSeenAt, next.userDecisionsTotal],
      [10_000, 1, 0, 1, NOW - 20 * MINUTE, 4],
    );
  });

  test('a denial counts as a denial only; another user\'s decision changes nothing; another day does not add to today', async () => {
    const ruleSet = await defaultRuleSet();
    const denied = { ...decide(intentFor(transfer(10_000), { userId: 'u' }), calmContext(), ruleSet, { now: NOW - HOUR, decisionId: 'd' }), outcome: 'deny' as const };
    const afterDeny = applyDecision(calmContext(), intentFor(transfer(1), { userId: 'u' }), denied, NOW);
    assert.deepEqual([afterDeny.denialsLast24h, afterDeny.transferredTodayMinor], [1, 0]);
    const untouched = calmContext();
    assert.equal(applyDecision(untouched, intentFor(transfer(1), { userId: 'other' }), denied, NOW), untouched);
    const yesterday = decide(intentFor(transfer(10_000), { userId: 'u' }), calmContext(), ruleSet, { now: NOW - DAY, decisionId: 'y' });
    assert.equal(applyDecision(calmContext(), intentFor(transfer(1), { userId: 'u' }), yesterday, NOW).transferredTodayMinor, 0);
    const mail = decide(intentFor(email('a@aureus.example'), { userId: 'u' }), calmContext(), ruleSet, { now: NOW, decisionId: 'm' });
    assert.equal(applyDecision(calmContext(), intentFor(transfer(1), { userId: 'u' }), mail, NOW).transferredTodayMinor, 0);
  });
});

describe('decision ids', () => {
  test('derive deterministically from the intent id, as RFC 9562 version-8 UUIDs', () => {
    const id = deriveDecisionId('intent-1');
    assert.equal(id, deriveDecisionId('intent-1'));
    assert.notEqual(id, deriveDecisionId('intent-2'));
    assert.match(id, /^[0-9a-f]{8}-[0-9a-f]{4}-8[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    assert.notEqual(uuidFromName('intent-1'), id);
  });
});
