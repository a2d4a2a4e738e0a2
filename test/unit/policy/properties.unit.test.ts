// Properties of the engine, checked with fast-check over generated rule sets, intents and contexts:
// deny always overrides; decisions are deterministic and replayable; a larger transfer never lowers
// the risk tier (nor softens the outcome) under the default constitution; the canonical fast paths
// equal the reference RFC 8785 implementation.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { actionDigest } from '../../../src/canonical/digest.ts';
import { canonicalize } from '../../../src/canonical/jcs.ts';
import type { Action, Intent } from '../../../src/domain/types.ts';
import { canonicalSnapshotJson, fastActionDigest } from '../../../src/policy/canonical-fast.ts';
import { SNAPSHOT_VERSION, type ContextSnapshot } from '../../../src/policy/context.ts';
import { decide } from '../../../src/policy/decide.ts';
import { replayDecision } from '../../../src/policy/replay.ts';
import { compileRuleSet } from '../../../src/policy/ruleset.ts';
import type { ConditionNode, PolicyContext, RuleDocument } from '../../../src/policy/types.ts';
import { DAY, defaultRuleSet, intentFor, MINUTE, NOW } from '../../support/policy-fixtures.ts';

const RUNS = { numRuns: 300 };

// ---------------------------------------------------------------------------------------------
// Generators

const contextArb: fc.Arbitrary<PolicyContext> = fc.record({
  transferredTodayMinor: fc.integer({ min: 0, max: 6_000_000 }),
  transfersToday: fc.integer({ min: 0, max: 50 }),
  actionsLast10Min: fc.integer({ min: 0, max: 30 }),
  actionsLastHour: fc.integer({ min: 0, max: 100 }),
  denialsLast24h: fc.integer({ min: 0, max: 12 }),
  counterpartyFirstSeenAt: fc.option(fc.integer({ min: 0, max: 60 * 24 * 60 }).map((m) => NOW - m * MINUTE), { nil: null }),
  userFirstSeenAt: fc.option(fc.integer({ min: 0, max: 1000 }).map((d) => NOW - d * DAY), { nil: null }),
  userDecisionsTotal: fc.integer({ min: 0, max: 10_000 }),
  nearestDeniedSimilarity: fc.integer({ min: 0, max: 10_000 }).map((n) => n / 10_000),
  nearestDeniedIntentId: fc.option(fc.uuid(), { nil: null }),
});

const text = fc.string({ maxLength: 40 });
const actionArb: fc.Arbitrary<Action> = fc.oneof(
  fc.record({ type: fc.constant('transfer' as const), amountMinor: fc.integer({ min: 0, max: 4_000_000 }), currency: fc.constantFrom('USD', 'EUR', 'JPY', 'XYZ'), payee: text, memo: fc.option(text, { nil: null }) }),
  fc.record({ type: fc.constant('message_send' as const), medium: fc.constantFrom('email', 'sms', 'chat'), recipient: fc.oneof(fc.emailAddress(), text), subject: fc.option(text, { nil: null }), body: text }),
  fc.record({ type: fc.constant('command_run' as const), host: text, command: fc.oneof(text, fc.constantFrom('df -h', 'sudo reboot', 'rm -rf /', 'ls | sh', 'curl x | bash', 'uptime')) }),
  fc.record({ type: fc.constant('tool_call' as const), tool: fc.oneof(text, fc.constantFrom('weather.lookup', 'files.read')), argumentsJson: fc.json() }),
);

const intentArb: fc.Arbitrary<Intent> = fc.record({
  action: actionArb,
  userId: fc.constantFrom('u1', 'u2'),
  source: fc.constantFrom('chat' as const, 'agent' as const),
  confidence: fc.integer({ min: 0, max: 100 }).map((n) => n / 100),
}).map(({ action, userId, source, confidence }) => intentFor(structuredClone(action), { userId, source, extraction: { extractor: 'gen', confidence } }));

const transferConditionArb: fc.Arbitrary<ConditionNode> = fc.oneof(
  fc.record({ field: fc.constant('action.amountMinor'), gt: fc.integer({ min: 0, max: 3_000_000 }) }),
  fc.record({ field: fc.constant('context.actionsLast10Min'), gte: fc.integer({ min: 0, max: 30 }) }),
  fc.record({ field: fc.constant('context.counterpartyKnown'), eq: fc.boolean() }),
  fc.record({ field: fc.constant('derived.projectedTodayMinor'), lte: fc.integer({ min: 0, max: 6_000_000 }) }),
  fc.constant({ always: true as const }),
);

const otherRuleArb = fc.record({
  effect: fc.constantFrom('allow', 'require_human', 'raise_risk', 'lower_risk') as fc.Arbitrary<RuleDocument['effect']>,
  when: fc.oneof(transferConditionArb, fc.record({ any: fc.array(transferConditionArb, { minLength: 1, maxLength: 3 }) }), fc.record({ not: transferConditionArb })),
  points: fc.integer({ min: 1, max: 60 }),
});

function ruleDocument(r: { effect: RuleDocument['effect']; when: ConditionNode; points: number }, id: string): RuleDocument {
  const base: RuleDocument = { id, description: id, appliesTo: ['transfer'], when: r.when, effect: r.effect };
  if (r.effect === 'raise_risk' || r.effect === 'lower_risk') return { ...base, points: r.points, factor: 'f' };
  if (r.effect === 'require_human') return { ...base, approval: 'any' };
  return base;
}

function ruleSetOf(rules: RuleDocument[]) {
  return compileRuleSet({
    version: 'gen',
    risk: { base: 10, bands: { medium: 35, high: 70 } },
    defaults: { outcome: 'deny', reason: 'default' },
    approvals: { any: { approvers: ['role:x'], requiredApprovals: 1, within: '1h', requesterMayApprove: true } },
    rules,
  });
}

const TIER_RANK = { low: 0, medium: 1, high: 2 } as const;
const OUTCOME_RANK = { allow: 0, require_human: 1, deny: 2 } as const;

// ---------------------------------------------------------------------------------------------

describe('deny overrides', () => {
  test('when a deny rule holds, the outcome is deny, whatever other rules say and wherever it sits', () => {
    fc.assert(fc.property(
      fc.array(otherRuleArb, { maxLength: 12 }), fc.nat(), fc.integer({ min: 0, max: 3_000_000 }), fc.integer({ min: 1, max: 4_000_000 }), contextArb,
      (others, position, threshold, amount, context) => {
        const docs = others.map((r, i) => ruleDocument(r, `rule-${i}`));
        const deny: RuleDocument = { id: 'deny-big', description: 'd', appliesTo: ['transfer'], when: { field: 'action.amountMinor', gt: threshold }, effect: 'deny' };
        docs.splice(position % (docs.length + 1), 0, deny);
        const d = decide(intentFor({ type: 'transfer', amountMinor: amount, currency: 'USD', payee: 'p', memo: null }), context, ruleSetOf(docs), { now: NOW, decisionId: 'x' });
        if (amount > threshold) {
          assert.equal(d.outcome, 'deny');
          assert.ok(d.firedRules.includes('deny-big'));
          assert.equal(d.humanApproval, null);
        } else {
          assert.ok(!d.firedRules.includes('deny-big'));
        }
      },
    ), RUNS);
  });

  test('the outcome is deny exactly when a deny rule fired or no deny/require_human/allow rule fired', () => {
    fc.assert(fc.property(fc.array(fc.tuple(otherRuleArb, fc.boolean()), { minLength: 1, maxLength: 12 }), fc.integer({ min: 1, max: 4_000_000 }), contextArb, (rules, amount, context) => {
      const docs = rules.map(([r, makeDeny], i) => ruleDocument(makeDeny ? { ...r, effect: 'deny' } : r, `rule-${i}`));
      const effects = new Map(docs.map((r) => [r.id, r.effect]));
      const d = decide(intentFor({ type: 'transfer', amountMinor: amount, currency: 'USD', payee: 'p', memo: null }), context, ruleSetOf(docs), { now: NOW, decisionId: 'x' });
      const fired = d.firedRules.map((id) => effects.get(id));
      const expectDeny = fired.includes('deny') || !fired.some((e) => e === 'require_human' || e === 'allow');
      assert.equal(d.outcome === 'deny', expectDeny);
      if (d.outcome === 'require_human') assert.ok(!fired.includes('deny'));
    }), RUNS);
  });
});

describe('determinism', () => {
  test('same intent, context and rules give the same decision: twice, on copies, with a recompiled rule set, and on replay', async () => {
    const ruleSet = await defaultRuleSet();
    const recompiled = compileRuleSet(structuredClone(ruleSet.document));
    fc.assert(fc.property(intentArb, contextArb, fc.integer({ min: 0, max: 10 * DAY }), (intent, context, offset) => {
      const options = { now: NOW + offset, decisionId: 'det' };
      const first = decide(intent, context, ruleSet, options);
      assert.deepEqual(decide(intent, context, ruleSet, options), first);
      assert.deepEqual(decide(structuredClone(intent), structuredClone(context), recompiled, options), first);
      const replay = replayDecision(first, ruleSet);
      assert.deepEqual(replay.differences, []);
      assert.equal(replay.matches, true);
    }), RUNS);
  });
});

describe('monotonic in the amount (default constitution)', () => {
  test('a larger transfer never lowers the risk tier or softens the outcome, all else equal', async () => {
    const ruleSet = await defaultRuleSet();
    fc.assert(fc.property(
      fc.integer({ min: 1, max: 4_000_000 }), fc.integer({ min: 1, max: 4_000_000 }), contextArb, fc.constantFrom('USD', 'EUR', 'XYZ'),
      fc.integer({ min: 0, max: 100 }).map((n) => n / 100),
      (x, y, context, currency, confidence) => {
        const [small, large] = x <= y ? [x, y] : [y, x];
        const at = (amountMinor: number) => decide(
          intentFor({ type: 'transfer', amountMinor, currency, payee: 'Payee', memo: null }, { extraction: { extractor: 't', confidence } }),
          context, ruleSet, { now: NOW, decisionId: 'm' });
        const a = at(small);
        const b = at(large);
        assert.ok(TIER_RANK[a.risk.tier] <= TIER_RANK[b.risk.tier], `${small}: ${a.risk.tier}, ${large}: ${b.risk.tier}`);
        assert.ok(a.risk.score <= b.risk.score);
        assert.ok(OUTCOME_RANK[a.outcome] <= OUTCOME_RANK[b.outcome], `${small}: ${a.outcome}, ${large}: ${b.outcome}`);
      },
    ), { numRuns: 1000 });
  });
});

describe('canonical fast paths', () => {
  const oddString = fc.string({ maxLength: 12, unit: fc.oneof(fc.constantFrom('\uD800', '\uDFFF', '"', '\\', '\u2028', '\u0000', 'é'), fc.string({ unit: 'binary', minLength: 1, maxLength: 1 })) });
  const oddNumber = fc.oneof(fc.integer(), fc.double(), fc.constantFrom(2 ** 53, -(2 ** 53), Number.NaN, Infinity, -0, 1e21, 5e-324));

  function sameOrBothThrow(fast: () => string, reference: () => string): void {
    let expected: string | Error;
    try { expected = reference(); } catch (error) { expected = error as Error; }
    if (expected instanceof Error) assert.throws(fast);
    else assert.equal(fast(), expected);
  }

  test('fastActionDigest equals actionDigest, or both throw', () => {
    const odd: fc.Arbitrary<Action> = fc.oneof(
      actionArb,
      fc.record({ type: fc.constant('transfer' as const), amountMinor: oddNumber, currency: oddString, payee: oddString, memo: fc.option(oddString, { nil: null }) }),
      fc.record({ type: fc.constant('command_run' as const), host: oddString, command: oddString }),
      fc.record({ type: fc.constant('tool_call' as const), tool: oddString, argumentsJson: oddString, extra: fc.integer() }) as unknown as fc.Arbitrary<Action>,
      fc.record({ type: fc.constant('message_send' as const), medium: oddString, recipient: oddString, subject: fc.option(oddString, { nil: null }), body: oddString }),
    );
    fc.assert(fc.property(odd, (action) => sameOrBothThrow(() => fastActionDigest(action), () => actionDigest(action))), { numRuns: 2000 });
  });

  test('canonicalSnapshotJson equals canonicalize, or both throw', () => {
    const snapshotArb: fc.Arbitrary<ContextSnapshot> = fc.record({
      v: fc.constant(SNAPSHOT_VERSION),
      context: fc.oneof(contextArb, contextArb.chain((c) => fc.record({ nearestDeniedIntentId: fc.option(oddString, { nil: null }), nearestDeniedSimilarity: oddNumber }).map((o) => ({ ...c, ...o })))),
      intent: fc.record({ source: fc.constantFrom('chat' as const, 'agent' as const), extractor: oddString, confidence: oddNumber }),
    });
    fc.assert(fc.property(snapshotArb, (snapshot) => sameOrBothThrow(() => canonicalSnapshotJson(snapshot), () => canonicalize(snapshot))), { numRuns: 2000 });
  });
});
