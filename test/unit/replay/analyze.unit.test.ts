// The replay checks on a recorded run built in memory: a clean run has no findings; each kind of
// damage is reported as its own finding. And counterfactual replay's diff by rule.
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { describe, test } from 'node:test';
import { createKeyRegistry, revokeKey } from '../../../src/approval/keys/registry.ts';
import { encodeApprovalPayload, type ApprovalPayload } from '../../../src/approval/payload.ts';
import { signApproval } from '../../../src/approval/sign.ts';
import { LocalEd25519Signer } from '../../../src/approval/signers/local.ts';
import { keyTimeline } from '../../../src/audit/key-timeline.ts';
import type { Decision, SignedApprovalEvent } from '../../../src/domain/types.ts';
import { parseRuleSet } from '../../../src/policy/ruleset.ts';
import { ReplayAnalyzer, type FindingType, type Position } from '../../../src/replay/analyze.ts';
import { CounterfactualRun } from '../../../src/replay/counterfactual.ts';
import { CONSTITUTION_PATH } from '../../support/policy-fixtures.ts';
import { AUDIENCE, buildRecordedRun, ISSUER, type RecordedRun } from '../../support/recorded-run.ts';

const NOW = Date.UTC(2026, 10, 25, 12, 0, 0);
const ALL = new Set(['sentinel.intents', 'sentinel.decisions', 'sentinel.human-approvals', 'sentinel.approvals', 'sentinel.executions']);

let offset = 0;
const at = (topic: string, timestamp: number): Position => ({ topic, partition: 0, offset: String(offset++), timestamp });

function analyze(run: RecordedRun, options: { keys?: ReturnType<typeof keyTimeline>; ruleSets?: Map<string, RecordedRun['ruleSet']>; referenceTime?: number; graceMs?: number } = {}) {
  const analyzer = new ReplayAnalyzer({
    keys: options.keys ?? keyTimeline(createKeyRegistry([run.keyRecord])),
    ruleSets: options.ruleSets ?? new Map([[run.ruleSet.digest, run.ruleSet]]),
    audience: AUDIENCE, issuers: [ISSUER], clockSkewMs: 30_000, maxTtlMs: 900_000,
  });
  for (const e of run.executions) analyzer.addExecution(e, at('sentinel.executions', e.executedAt));
  for (const d of run.decisions) analyzer.addDecision(d, at('sentinel.decisions', d.decidedAt));
  for (const r of run.responses) analyzer.addHumanResponse(r, at('sentinel.human-approvals', r.respondedAt));
  for (const a of run.approvals) analyzer.addApproval(a, at('sentinel.approvals', NOW));
  for (const i of run.intents) analyzer.addIntent(i, at('sentinel.intents', i.submittedAt));
  return analyzer.finish({ referenceTime: options.referenceTime ?? NOW + 3_600_000, graceMs: options.graceMs ?? 0, topicsRead: ALL });
}

const types = (findings: Array<{ type: FindingType }>) => findings.map((f) => f.type).sort();

async function freshRun(count = 21): Promise<RecordedRun> {
  return buildRecordedRun({ count, now: NOW, idPrefix: 'r' });
}

describe('replay analysis', () => {
  test('a recorded run has no findings, and every flow reaches an outcome', async () => {
    const run = await freshRun();
    const outcomes = new Set(run.decisions.map((d) => d.outcome));
    assert.deepEqual([...outcomes].sort(), ['allow', 'deny', 'require_human'], 'the run exercises every outcome');
    assert.ok(run.responses.some((r) => r.verdict === 'deny') && run.responses.some((r) => r.verdict === 'approve'));
    const report = analyze(run);
    assert.deepEqual(report.findings, []);
    assert.equal(report.stats.approvals.valid, run.approvals.length);
    assert.equal(report.stats.decisions.matched, run.decisions.length);
    assert.equal(report.stats.intents.complete, run.intents.length);
    assert.equal(report.stats.executions.executed + report.stats.executions.failed, run.executions.length);
  });

  test('a forged approval, a duplicated execution, a tampered decision and a missing outcome are each reported', async () => {
    const run = await freshRun();
    // Forged: the payload of a real approval with another amount's digest, re-signed by a key no one published.
    const victim = run.approvals[0]!;
    const payload = JSON.parse(victim.envelope.payload.toString('utf8')) as ApprovalPayload;
    const forgedEnvelope = await signApproval({ ...payload, riskTier: 'low' }, LocalEd25519Signer.generate());
    run.approvals[0] = { ...victim, envelope: forgedEnvelope };
    // Duplicated: the executor ran the second approval twice.
    const twice = run.executions[1]!;
    run.executions.push({ ...twice, executionId: `${twice.executionId}-again`, executedAt: twice.executedAt + 5 });
    // Tampered: a denied decision rewritten as an allow.
    const denied = run.decisions.findIndex((d) => d.outcome === 'deny');
    run.decisions[denied] = { ...run.decisions[denied]!, outcome: 'allow', reason: 'Allowed' } as Decision;
    // Missing outcome: an intent that never got a decision.
    run.intents.push({ ...run.intents[0]!, intentId: 'r-int-lost', submittedAt: NOW - 60_000 });

    const report = analyze(run);
    assert.deepEqual(types(report.findings), [
      'approval_invalid', 'decision_mismatch', 'execution_without_valid_approval', 'intent_without_outcome', 'intent_without_outcome', 'approval_executed_twice',
    ].sort());
    // The rewritten decision now "allowed" an action no approval followed: that flow has no outcome either.
    const missing = report.findings.filter((f) => f.type === 'intent_without_outcome').map((f) => [f.intentId, f.code]).sort();
    assert.deepEqual(missing, [[run.decisions[denied]!.intentId, 'approval'], ['r-int-lost', 'decision']].sort());
    const byType = new Map(report.findings.filter((f) => f.intentId !== run.decisions[denied]!.intentId || f.type !== 'intent_without_outcome').map((f) => [f.type, f]));
    assert.equal(byType.get('approval_invalid')!.code, 'SNT_APPROVAL_KEY_UNKNOWN');
    assert.equal(byType.get('execution_without_valid_approval')!.approvalId, victim.approvalId);
    assert.deepEqual(byType.get('approval_executed_twice')!.executionIds, [twice.executionId, `${twice.executionId}-again`]);
    assert.match(byType.get('decision_mismatch')!.differences!.join('\n'), /^outcome: recorded "allow", replayed "deny"/m);
    assert.deepEqual([byType.get('intent_without_outcome')!.intentId, byType.get('intent_without_outcome')!.code], ['r-int-lost', 'decision']);
  });

  test('approvals are verified as of the execution: expired when run, key revoked before the run', async () => {
    const run = await freshRun(8);
    const late = run.executions[0]!;
    run.executions[0] = { ...late, executedAt: late.executedAt + 10 * 60_000 };
    const expired = analyze(run).findings;
    assert.deepEqual(expired.map((f) => [f.type, f.code, f.executionId]), [['execution_without_valid_approval', 'SNT_APPROVAL_EXPIRED', late.executionId]]);

    const other = await freshRun(8);
    const revokedAt = other.executions[1]!.executedAt - 1;
    const keys = keyTimeline(revokeKey(createKeyRegistry([other.keyRecord]), other.keyRecord.keyId, revokedAt));
    const report = analyze(other, { keys });
    const revoked = report.findings.filter((f) => f.type === 'approval_invalid');
    assert.deepEqual(revoked.map((f) => f.approvalId).sort(), other.executions.slice(1).map((e) => e.approvalId).sort());
    assert.ok(revoked.every((f) => f.code === 'SNT_APPROVAL_KEY_REVOKED'));
    assert.equal(report.findings.filter((f) => f.type === 'execution_without_valid_approval').length, other.executions.length - 1);
  });

  test('an authentic approval of a denied decision is not permitted; an unknown policy version cannot be re-evaluated', async () => {
    const run = await freshRun(8);
    const denied = run.decisions.find((d) => d.outcome === 'deny')!;
    const allowed = run.approvals[0]!;
    const base = JSON.parse(allowed.envelope.payload.toString('utf8')) as ApprovalPayload;
    const payload: ApprovalPayload = {
      ...base, approvalId: `apr-of-${denied.decisionId}`, intentId: denied.intentId, decisionId: denied.decisionId,
      actionType: denied.action.type, actionDigest: denied.actionDigest, ruleIds: denied.firedRules,
    };
    const event: SignedApprovalEvent = {
      approvalId: payload.approvalId, intentId: denied.intentId, decisionId: denied.decisionId, conversation: denied.conversation,
      action: denied.action, envelope: await signApproval(payload, run.signer),
    };
    assert.equal(encodeApprovalPayload(payload).equals(event.envelope.payload), true);
    run.approvals.push(event);
    const report = analyze(run, { ruleSets: new Map() });
    const notPermitted = report.findings.filter((f) => f.type === 'approval_not_permitted');
    assert.equal(notPermitted.length, 1);
    assert.match(notPermitted[0]!.detail, /denied/);
    assert.equal(report.findings.filter((f) => f.type === 'decision_unverifiable').length, run.decisions.length);
  });

  test('flows still in flight at the end of the range are pending, not findings', async () => {
    const run = await freshRun(8);
    run.intents.push({ ...run.intents[0]!, intentId: 'r-int-new', submittedAt: NOW + 40_000 });
    const report = analyze(run, { referenceTime: NOW + 60_000, graceMs: 30_000 });
    assert.deepEqual(report.findings, []);
    assert.equal(report.stats.intents.pending, 1);
    assert.equal(report.stats.intents.complete, 8);
  });
});

describe('counterfactual replay', () => {
  test('a candidate that lowers the transfer threshold changes those decisions, reported by rule', async () => {
    const run = await freshRun(21);
    const text = await readFile(CONSTITUTION_PATH, 'utf8');
    assert.match(text, /\{ field: action\.amountMinor, gt: 100000 \}/);
    const candidate = parseRuleSet(text.replace('{ field: action.amountMinor, gt: 100000 }', '{ field: action.amountMinor, gt: 1000 }').replace('version: "2026.11.1"', 'version: "candidate"'), 'candidate.yaml');
    const same = new CounterfactualRun(run.ruleSet);
    for (const i of run.intents) same.addIntent(i);
    for (const d of run.decisions) same.addDecision(d, at('sentinel.decisions', d.decidedAt));
    assert.equal(same.finish().changed, 0, 'the recorded rules change nothing');

    const cf = new CounterfactualRun(candidate);
    for (const i of run.intents) cf.addIntent(i);
    for (const d of run.decisions) cf.addDecision(d, at('sentinel.decisions', d.decidedAt));
    const report = cf.finish();
    const small = run.decisions.filter((d) => d.action.type === 'transfer' && (d.action as { amountMinor: number }).amountMinor === 5_000);
    assert.equal(report.changed, small.length);
    assert.deepEqual(report.transitions, { 'allow -> require_human': small.length });
    assert.ok(report.byRule.some((r) => r.newlyFired === small.length), JSON.stringify(report.byRule));
    assert.equal(report.evaluated, run.intents.length);
  });
});
