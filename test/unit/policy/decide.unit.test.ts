// The engine's semantics on small rule sets: phases, deny overriding, require_human combination,
// the default outcome, score clamping and bands, and what every decision records.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { actionDigest, canonicalDigest, sha256Tagged } from '../../../src/canonical/digest.ts';
import { emptyContext, parseSnapshot } from '../../../src/policy/context.ts';
import { decide } from '../../../src/policy/decide.ts';
import { compileRuleSet } from '../../../src/policy/ruleset.ts';
import type { RuleDocument } from '../../../src/policy/types.ts';
import { calmContext, command, intentFor, MINUTE, NOW, tool, transfer } from '../../support/policy-fixtures.ts';

function rulesWith(rules: Array<Partial<RuleDocument> & { id: string }>, base = 10) {
  return compileRuleSet({
    version: 'test-1',
    risk: { base, bands: { medium: 40, high: 70 } },
    defaults: { outcome: 'deny', reason: 'nothing allows it' },
    approvals: {
      finance: { approvers: ['role:finance'], requiredApprovals: 1, within: '30m', requesterMayApprove: true },
      dual: { approvers: ['role:treasury'], requiredApprovals: 2, within: '2h', requesterMayApprove: true },
      quick: { approvers: ['role:ops'], requiredApprovals: 1, within: '5m', requesterMayApprove: true },
      strict: { approvers: ['role:ops'], requiredApprovals: 1, within: '1h', requesterMayApprove: false },
    },
    rules: rules.map((r) => ({ description: `rule ${r.id}`, when: { always: true }, effect: 'allow', ...r })),
  }, 'test');
}

const opts = { now: NOW, decisionId: 'dec-1' };
const big: RuleDocument['when'] = { field: 'action.amountMinor', gt: 1000 };

describe('outcomes', () => {
  test('deny overrides require_human and allow, whatever the order in the file', () => {
    const rules = rulesWith([
      { id: 'allow-all' },
      { id: 'ask', effect: 'require_human', approval: 'finance' },
      { id: 'no-big', appliesTo: ['transfer'], when: big, effect: 'deny', reason: 'too big' },
    ]);
    const d = decide(intentFor(transfer(5000)), calmContext(), rules, opts);
    assert.equal(d.outcome, 'deny');
    assert.equal(d.reason, 'Denied: too big');
    assert.equal(d.humanApproval, null);
    assert.deepEqual(d.firedRules, ['allow-all', 'ask', 'no-big']);
  });

  test('require_human overrides allow', () => {
    const d = decide(intentFor(transfer(5000)), calmContext(), rulesWith([{ id: 'allow-all' }, { id: 'ask', effect: 'require_human', approval: 'finance' }]), opts);
    assert.equal(d.outcome, 'require_human');
    assert.deepEqual(d.humanApproval, { approvers: ['role:finance'], requiredApprovals: 1, deadline: NOW + 30 * MINUTE, requesterMayApprove: true });
  });

  test('with no deny, require_human or allow rule firing, the default outcome (deny) applies with its reason', () => {
    const d = decide(intentFor(transfer(5)), calmContext(), rulesWith([{ id: 'allow-big', appliesTo: ['transfer'], when: big }]), opts);
    assert.equal(d.outcome, 'deny');
    assert.equal(d.reason, 'Denied: nothing allows it');
    assert.deepEqual(d.firedRules, []);
  });

  test('several require_human rules: most approvals name the approvers, earliest deadline, requester only if all allow', () => {
    const rules = rulesWith([
      { id: 'a-quick', effect: 'require_human', approval: 'quick' },
      { id: 'b-dual', effect: 'require_human', approval: 'dual' },
      { id: 'c-strict', effect: 'require_human', approval: 'strict' },
    ]);
    const d = decide(intentFor(transfer(5)), calmContext(), rules, opts);
    assert.deepEqual(d.humanApproval, { approvers: ['role:treasury'], requiredApprovals: 2, deadline: NOW + 5 * MINUTE, requesterMayApprove: false });
    assert.equal(d.reason, 'Needs human approval: rule a-quick; rule b-dual; rule c-strict');
  });

  test('on a tie of approvals, the first rule in the file names the approvers', () => {
    const rules = rulesWith([{ id: 'first', effect: 'require_human', approval: 'strict' }, { id: 'second', effect: 'require_human', approval: 'finance' }]);
    assert.deepEqual(decide(intentFor(transfer(5)), calmContext(), rules, opts).humanApproval?.approvers, ['role:ops']);
  });

  test('the requester may never approve a high-risk action, even when the rule allows it', () => {
    const rules = rulesWith([
      { id: 'risky', effect: 'raise_risk', points: 65, factor: 'risky' },
      { id: 'ask', effect: 'require_human', approval: 'finance' },
    ]);
    const d = decide(intentFor(transfer(5)), calmContext(), rules, opts);
    assert.equal(d.risk.tier, 'high');
    assert.equal(d.humanApproval?.requesterMayApprove, false);
  });
});

describe('risk', () => {
  test('score = base + raised - lowered, factors list each contribution, tier from the bands', () => {
    const rules = rulesWith([
      { id: 'up', effect: 'raise_risk', points: 25, factor: 'up_factor', reason: 'up by {action.amountMinor}', appliesTo: ['transfer'] },
      { id: 'down', effect: 'lower_risk', points: 5, factor: 'down_factor' },
      { id: 'allow-all' },
    ]);
    const d = decide(intentFor(transfer(77)), calmContext(), rules, opts);
    assert.equal(d.risk.score, 30);
    assert.equal(d.risk.tier, 'low');
    assert.deepEqual(d.risk.factors, [
      { code: 'base', weight: 10, detail: 'base score of the constitution' },
      { code: 'up_factor', weight: 25, detail: 'up by 77' },
      { code: 'down_factor', weight: -5, detail: 'rule down' },
    ]);
  });

  test('bands: below medium is low, medium up to high is medium, high and above is high', () => {
    for (const [points, tier] of [[29, 'low'], [30, 'medium'], [59, 'medium'], [60, 'high']] as const) {
      const d = decide(intentFor(transfer(1)), calmContext(), rulesWith([{ id: 'r', effect: 'raise_risk', points, factor: 'f' }]), opts);
      assert.equal(d.risk.tier, tier, `score ${d.risk.score}`);
    }
  });

  test('the score is clamped to 0..100', () => {
    const high = decide(intentFor(transfer(1)), calmContext(), rulesWith([{ id: 'a', effect: 'raise_risk', points: 80, factor: 'a' }, { id: 'b', effect: 'raise_risk', points: 80, factor: 'b' }]), opts);
    assert.equal(high.risk.score, 100);
    const low = decide(intentFor(transfer(1)), calmContext(), rulesWith([{ id: 'a', effect: 'lower_risk', points: 50, factor: 'a' }]), opts);
    assert.equal(low.risk.score, 0);
  });

  test('outcome rules see the final score and tier', () => {
    const rules = rulesWith([
      { id: 'risky', effect: 'raise_risk', points: 35, factor: 'x' },
      { id: 'deny-medium', effect: 'deny', when: { field: 'risk.tier', eq: 'medium' }, reason: 'score {risk.score} is {risk.tier}' },
    ]);
    assert.equal(decide(intentFor(transfer(1)), calmContext(), rules, opts).reason, 'Denied: score 45 is medium');
  });

  test('a zero base adds no base factor', () => {
    assert.deepEqual(decide(intentFor(transfer(1)), calmContext(), rulesWith([{ id: 'allow' }], 0), opts).risk.factors, []);
  });
});

describe('rule selection by action type', () => {
  test('rules limited by appliesTo only see their action types; unknown action types only see unscoped rules', () => {
    const rules = rulesWith([
      { id: 'transfers-only', appliesTo: ['transfer'], effect: 'raise_risk', points: 5, factor: 't' },
      { id: 'everything', effect: 'raise_risk', points: 1, factor: 'e' },
      { id: 'allow-commands', appliesTo: ['command_run'] },
    ]);
    assert.deepEqual(decide(intentFor(transfer(1)), calmContext(), rules, opts).firedRules, ['transfers-only', 'everything']);
    assert.deepEqual(decide(intentFor(command('ls')), calmContext(), rules, opts).firedRules, ['everything', 'allow-commands']);
    const unknown = decide(intentFor({ type: 'teleport', where: 'mars' } as never), calmContext(), rules, opts);
    assert.deepEqual(unknown.firedRules, ['everything']);
    assert.equal(unknown.outcome, 'deny');
  });
});

describe('what a decision records', () => {
  test('ids, action digest, policy version and digest, context snapshot and digest, time', () => {
    const rules = rulesWith([{ id: 'allow-tools', appliesTo: ['tool_call'] }]);
    const intent = intentFor(tool('weather.lookup', '{"city":"Oslo"}'), { extraction: { extractor: 'parser-v2', confidence: 0.8 }, source: 'agent' });
    const context = calmContext({ actionsLast10Min: 3 });
    const d = decide(intent, context, rules, { now: NOW + 5, decisionId: 'dec-xyz' });
    assert.equal(d.decisionId, 'dec-xyz');
    assert.equal(d.intentId, intent.intentId);
    assert.deepEqual(d.requester, intent.requester);
    assert.deepEqual(d.conversation, intent.conversation);
    assert.deepEqual(d.action, intent.action);
    assert.equal(d.actionDigest, actionDigest(intent.action));
    assert.equal(d.policyVersion, 'test-1');
    assert.equal(d.policyDigest, rules.digest);
    assert.equal(d.policyDigest, canonicalDigest(rules.document));
    assert.equal(d.decidedAt, NOW + 5);
    assert.equal(d.context.digest, sha256Tagged(d.context.snapshotJson));
    assert.deepEqual(parseSnapshot(d.context.snapshotJson), { v: 1, context, intent: { source: 'agent', extractor: 'parser-v2', confidence: 0.8 } });
  });

  test('the empty context is what a first-time user gets', () => {
    const d = decide(intentFor(transfer(1)), emptyContext(), rulesWith([{ id: 'allow' }]), opts);
    assert.equal(parseSnapshot(d.context.snapshotJson).context.counterpartyFirstSeenAt, null);
  });
});
