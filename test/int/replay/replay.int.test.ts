// `sentinel replay` on the real broker, registry and PostgreSQL: a recorded run replays with 0
// findings; after injecting a forged approval, a duplicated execution, a tampered decision and a
// missing outcome, each is reported (exit 3, JSON Lines, progress on stderr). The reader uses no
// consumer group. Counterfactual replay reports what a candidate constitution changes, by rule.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import kafkajs from 'kafkajs';
import type { ApprovalPayload } from '../../../src/approval/payload.ts';
import { signApproval } from '../../../src/approval/sign.ts';
import { LocalEd25519Signer } from '../../../src/approval/signers/local.ts';
import { recordConstitution } from '../../../src/audit/constitutions.ts';
import type { Decision } from '../../../src/domain/types.ts';
import type { Finding } from '../../../src/replay/analyze.ts';
import { openTopicRange } from '../../../src/replay/source.ts';
import { createTestBus, type TestBus } from '../../support/kafka.ts';
import { CONSTITUTION_PATH } from '../../support/policy-fixtures.ts';
import { AUDIT_TEST_DATABASE, auditPool, auditTestConfig, buildRecordedRun, publishRun, runPublisher } from '../../support/recorded-run.ts';

const CLI = fileURLToPath(new URL('../../../src/cli/main.ts', import.meta.url));

function cli(bus: TestBus, args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI, ...args], {
      env: { ...process.env, TOPIC_PREFIX: bus.prefix, POSTGRES_DB: AUDIT_TEST_DATABASE, LOG_LEVEL: 'silent' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => { stdout += d.toString(); });
    child.stderr.on('data', (d: Buffer) => { stderr += d.toString(); });
    child.on('error', reject);
    child.on('close', (code) => resolve({ code: code ?? -1, stdout, stderr }));
  });
}

const jsonLines = <T>(text: string): T[] => text.trim().split('\n').filter(Boolean).map((l) => JSON.parse(l) as T);

test('replay finds nothing in a recorded run, then each injected fault; counterfactual diffs by rule', { timeout: 120_000 }, async (t) => {
  const config = await auditTestConfig();
  const bus = await createTestBus(t, config);
  const codec = await bus.codec();
  const pool = await auditPool(t);
  const dir = mkdtempSync(join(tmpdir(), 'replay-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));

  const run = await buildRecordedRun({ count: 28, now: Date.now() });
  await recordConstitution(pool, run.ruleSet); // as the policy service does at start-up
  await publishRun(bus, codec, run);

  // 1. The recorded run: 0 findings, exit 0; findings as JSON Lines; progress on stderr.
  const clean = await cli(bus, ['replay', '--grace-ms', '0', '--jsonl', join(dir, 'clean.jsonl')]);
  assert.equal(clean.code, 0, clean.stdout + clean.stderr);
  assert.match(clean.stdout, /, 0 finding\(s\)/);
  assert.match(clean.stderr, /\[replay\] sentinel\.approvals: \d+ records in/);
  const cleanLines = jsonLines<{ kind: string; approvals: { valid: number }; decisions: { matched: number }; intents: { complete: number } }>(readFileSync(join(dir, 'clean.jsonl'), 'utf8'));
  assert.deepEqual(cleanLines.map((l) => l.kind), ['summary']);
  assert.equal(cleanLines[0]!.approvals.valid, run.approvals.length);
  assert.equal(cleanLines[0]!.decisions.matched, run.decisions.length);
  assert.equal(cleanLines[0]!.intents.complete, run.intents.length);

  // 2. Inject the four faults.
  const p = runPublisher(bus, codec);
  const victim = run.approvals[0]!;
  const payload = JSON.parse(victim.envelope.payload.toString('utf8')) as ApprovalPayload;
  const forger = LocalEd25519Signer.generate();
  const forged = { ...victim, approvalId: `${victim.approvalId}-forged`, envelope: await signApproval({ ...payload, approvalId: `${victim.approvalId}-forged` }, forger) };
  await p.approval(forged);
  await p.execution({ ...run.executions[0]!, executionId: 'exe-forged', approvalId: forged.approvalId, executedAt: run.executions[0]!.executedAt + 50 });
  const twice = run.executions[1]!;
  await p.execution({ ...twice, executionId: `${twice.executionId}-again`, executedAt: twice.executedAt + 100 });
  const denied = run.decisions.find((d) => d.outcome === 'deny')!;
  const allowed = run.decisions.find((d) => d.outcome === 'allow')!;
  await p.decision({ ...allowed, risk: { ...allowed.risk, score: allowed.risk.score + 1 } } as Decision); // the record rewritten on the topic
  const lost = { ...run.intents[0]!, intentId: `${run.intents[0]!.intentId}-lost`, submittedAt: Date.now() - 1000 };
  await p.intent(lost);

  const damaged = await cli(bus, ['replay', '--grace-ms', '0', '--jsonl', '-']);
  assert.equal(damaged.code, 3, damaged.stderr);
  const findings = jsonLines<Finding & { kind: string }>(damaged.stdout).filter((l) => l.kind === 'finding');
  const summary = (type: string) => findings.filter((f) => f.type === type);
  assert.deepEqual(summary('approval_invalid').map((f) => [f.approvalId, f.code]), [[forged.approvalId, 'SNT_APPROVAL_KEY_UNKNOWN']]);
  assert.deepEqual(summary('execution_without_valid_approval').map((f) => f.executionId), ['exe-forged']);
  assert.deepEqual(summary('approval_executed_twice').map((f) => [f.approvalId, f.executionIds]), [[twice.approvalId, [twice.executionId, `${twice.executionId}-again`]]]);
  assert.deepEqual(summary('decision_mismatch').map((f) => f.decisionId), [allowed.decisionId]);
  assert.match(summary('decision_mismatch')[0]!.differences!.join('\n'), /^risk: recorded/m);
  assert.deepEqual(summary('intent_without_outcome').map((f) => [f.intentId, f.code]), [[lost.intentId, 'decision']]);
  assert.equal(findings.length, 5, JSON.stringify(findings, null, 1));
  assert.match(damaged.stderr, /approval_invalid SNT_APPROVAL_KEY_UNKNOWN/);
  assert.ok(denied, 'the run has a denied decision too');

  // 3. Export a topic's range as JSON Lines (decoded through the registry).
  const exported = await cli(bus, ['replay', '--topic', 'sentinel.decisions', '--export', join(dir, 'decisions.jsonl'), '--quiet', '--grace-ms', '0']);
  assert.equal(exported.code, 3, 'the tampered decision is still a finding');
  const records = jsonLines<{ kind: string; topic: string; data: Decision; schemaId: number }>(readFileSync(join(dir, 'decisions.jsonl'), 'utf8'));
  assert.equal(records.length, run.decisions.length + 1);
  assert.ok(records.every((r) => r.kind === 'record' && r.topic === 'sentinel.decisions' && r.schemaId > 0 && typeof r.data.decisionId === 'string'));

  // 4. Counterfactual: a candidate with a lower human-approval threshold for transfers.
  const text = readFileSync(CONSTITUTION_PATH, 'utf8');
  const candidatePath = join(dir, 'candidate.yaml');
  writeFileSync(candidatePath, text.replace('{ field: action.amountMinor, gt: 100000 }', '{ field: action.amountMinor, gt: 1000 }').replace(/^version: .*$/m, 'version: "candidate-1"'));
  const cf = await cli(bus, ['replay', 'counterfactual', '--rules', candidatePath, '--jsonl', '-', '--quiet']);
  assert.equal(cf.code, 3, cf.stderr);
  const cfLines = jsonLines<{ kind: string; decisionId?: string; recorded?: { outcome: string }; candidate?: { outcome: string }; transitions?: Record<string, number> }>(cf.stdout);
  const small = run.decisions.filter((d) => d.action.type === 'transfer' && (d.action as { amountMinor: number }).amountMinor === 5_000);
  assert.deepEqual(cfLines.filter((l) => l.kind === 'change').map((l) => l.decisionId).sort(), small.map((d) => d.decisionId).sort());
  assert.deepEqual(cfLines.find((l) => l.kind === 'summary')!.transitions, { 'allow -> require_human': small.length });
  assert.match(cf.stderr, /candidate candidate-1/);
  const same = await cli(bus, ['replay', 'counterfactual', '--rules', CONSTITUTION_PATH, '--quiet']);
  assert.equal(same.code, 0, same.stdout);
  assert.match(same.stdout, / 0 would change/);
});

test('the range reader reads by offset and by time, and creates no consumer group', { timeout: 60_000 }, async (t) => {
  const config = await auditTestConfig();
  const bus = await createTestBus(t, config);
  const codec = await bus.codec();
  const run = await buildRecordedRun({ count: 12, now: Date.now() });
  const p = runPublisher(bus, codec);
  for (const intent of run.intents.slice(0, 6)) await p.intent(intent);
  await new Promise((resolve) => setTimeout(resolve, 30));
  const middle = Date.now();
  await new Promise((resolve) => setTimeout(resolve, 30));
  for (const intent of run.intents.slice(6)) await p.intent(intent);

  const admin = new kafkajs.Kafka({ clientId: 'replay-test', brokers: config.kafka.brokers, logLevel: kafkajs.logLevel.NOTHING }).admin();
  await admin.connect();
  t.after(() => admin.disconnect());
  const groupsBefore = new Set((await admin.listGroups()).groups.map((g) => g.groupId));

  const topic = bus.topicName('sentinel.intents');
  const settings = { brokers: config.kafka.brokers, clientId: 'replay-test' };
  const read = async (from: Parameters<typeof openTopicRange>[2], to: Parameters<typeof openTopicRange>[3]) => {
    const reader = await openTopicRange(settings, topic, from, to);
    const seen: string[] = [];
    try {
      await reader.read(async (messages) => {
        for (const m of messages) seen.push((await codec.decode<{ intentId: string }>(topic, m.value!)).value.intentId);
      });
    } finally {
      await reader.close();
    }
    return seen.sort();
  };
  const ids = (from: number, to: number) => run.intents.slice(from, to).map((i) => i.intentId).sort();
  assert.deepEqual(await read({ kind: 'earliest' }, { kind: 'latest' }), ids(0, 12));
  assert.deepEqual(await read({ kind: 'time', at: middle }, { kind: 'latest' }), ids(6, 12));
  assert.deepEqual(await read({ kind: 'earliest' }, { kind: 'time', at: middle }), ids(0, 6));
  assert.deepEqual(await read({ kind: 'offset', offsets: 1_000_000n }, { kind: 'latest' }), []);
  const probe = await openTopicRange(settings, topic, { kind: 'earliest' }, { kind: 'latest' });
  const partitions = probe.partitions;
  await probe.close();
  const busy = partitions.find((x) => x.end > 0n)!;
  const one = await read({ kind: 'offset', offsets: new Map([[busy.partition, busy.end - 1n]]) }, { kind: 'offset', offsets: new Map(partitions.map((x) => [x.partition, x.partition === busy.partition ? busy.end : 0n])) });
  assert.equal(one.length, 1);

  const groupsAfter = (await admin.listGroups()).groups.map((g) => g.groupId).filter((g) => !groupsBefore.has(g));
  assert.deepEqual(groupsAfter.filter((g) => g.includes('replay')), [], 'no consumer group was created');
});
