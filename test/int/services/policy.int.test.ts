// The policy consumer and its HTTP API on the real broker, registry, PostgreSQL and Redis.
import assert from 'node:assert/strict';
import { randomBytes, randomUUID } from 'node:crypto';
import { test } from 'node:test';
import { ChannelReplyRequested, DecisionMade } from '../../../src/contracts/events.ts';
import type { Action, ChannelReply, Decision, Intent } from '../../../src/domain/types.ts';
import { actionDigest } from '../../../src/canonical/digest.ts';
import { requireServices } from '../../support/infra.ts';
import { createTestBus, type TestBus } from '../../support/kafka.ts';
import { sampleIntent } from '../../support/fixtures.ts';
import { publishIntent, startPolicyService } from '../../support/policy-service.ts';
import { TcpProxy } from '../../support/tcp-proxy.ts';
import { waitFor, sleep } from '../../support/wait.ts';
import type { IncomingMessage } from '../../../src/kafka/types.ts';
import type { EventCodec } from '../../../src/serde/codec.ts';

const user = (name: string) => `${name}-${randomBytes(3).toString('hex')}`;

function intentFor(userId: string, action: Action, overrides: Partial<Intent> = {}): Intent {
  return sampleIntent({
    requester: { userId, channel: 'web', channelUserId: userId, displayName: userId },
    conversation: { channel: 'web', conversationId: `conv-${userId}` },
    action, text: null, ...overrides,
  });
}

async function decisionsOf(bus: TestBus, codec: EventCodec, count: number): Promise<Array<{ record: IncomingMessage; decision: Decision; producer: string }>> {
  const records = await bus.readAll(bus.topicName('sentinel.decisions'), count, { timeoutMs: 40_000 });
  return Promise.all(records.map(async (record) => {
    const { metadata, data } = DecisionMade.fromAvro((await codec.decode<Record<string, unknown>>(record.topic, record.value!)).value);
    return { record, decision: data, producer: metadata.producer };
  }));
}

async function repliesOf(bus: TestBus, codec: EventCodec, count: number): Promise<ChannelReply[]> {
  const records = await bus.readAll(bus.topicName('sentinel.replies'), count, { timeoutMs: 40_000 });
  return Promise.all(records.map(async (r) => ChannelReplyRequested.fromAvro((await codec.decode<Record<string, unknown>>(r.topic, r.value!)).value).data));
}

test('intents in, decisions out: outcome, tier, rules fired, policy digest, trace continued, replies for users', async (t) => {
  const config = await requireServices('kafka', 'registry', 'postgres', 'redis');
  const bus = await createTestBus(t, config);
  const codec = await bus.codec();
  const { service } = await startPolicyService(t, bus);
  const alice = user('alice');
  const cases = [
    { intent: intentFor(alice, { type: 'command_run', host: 'build-01', command: 'df -h' }), outcome: 'allow', rule: 'allow-command-allowlisted' },
    { intent: intentFor(alice, { type: 'transfer', amountMinor: 3_000_000, currency: 'USD', payee: 'Mallory', memo: null }), outcome: 'deny', rule: 'deny-transfer-over-single-limit' },
    { intent: intentFor(alice, { type: 'tool_call', tool: 'crypto.mine', argumentsJson: '{}' }), outcome: 'deny', rule: 'deny-unknown-tool' },
    { intent: intentFor(alice, { type: 'transfer', amountMinor: 5000, currency: 'USD', payee: 'Bob', memo: null }), outcome: 'require_human', rule: 'human-transfer-new-payee-cooling-off' },
  ];
  const traces = [];
  for (const c of cases) traces.push(await publishIntent(bus, codec, c.intent));
  const out = await decisionsOf(bus, codec, cases.length);
  for (const [i, c] of cases.entries()) {
    const found = out.find((o) => o.decision.intentId === c.intent.intentId);
    assert.ok(found, `decision for case ${i}`);
    const { decision, record } = found;
    assert.equal(decision.outcome, c.outcome, `case ${i}: ${decision.reason}`);
    assert.ok(decision.firedRules.includes(c.rule), `case ${i} fired ${decision.firedRules.join(',')}`);
    assert.equal(decision.policyDigest, service.ruleSet.digest);
    assert.equal(decision.policyVersion, service.ruleSet.version);
    assert.equal(decision.actionDigest, actionDigest(c.intent.action));
    assert.ok(['low', 'medium', 'high'].includes(decision.risk.tier));
    assert.ok(decision.risk.factors.length > 0 && decision.reason.length > 0);
    assert.equal(record.headers['x-trace-id'], traces[i]!.traceId, 'same trace id as the intent');
    assert.equal(record.headers['x-parent-span-id'], traces[i]!.spanId, 'the intent\'s span is the parent');
    assert.equal(record.key?.toString(), `web:conv-${alice}`);
  }
  const human = out.find((o) => o.decision.outcome === 'require_human')!.decision;
  assert.deepEqual(human.humanApproval!.approvers, ['role:finance-approver']);
  assert.equal(human.humanApproval!.requiredApprovals, 1);
  assert.equal(human.humanApproval!.deadline, human.decidedAt + 30 * 60_000);
  // deny → refusal to the conversation (x2); require_human → a notice and a prompt per approver
  const replies = await repliesOf(bus, codec, 4);
  assert.equal(replies.filter((r) => r.kind === 'outcome' && r.text.startsWith('Refused')).length, 2);
  const prompt = replies.find((r) => r.kind === 'approval_prompt')!;
  assert.equal(prompt.recipientUserId, 'role:finance-approver');
  assert.equal(prompt.prompt!.decisionId, human.decisionId);
  assert.equal(prompt.prompt!.status, 'pending');
  assert.ok(replies.some((r) => r.kind === 'info' && r.text.startsWith('Waiting for approval')));
});

test('the HTTP API and the consumer decide the same way on the same input; bad requests get 4xx with a reason', async (t) => {
  const config = await requireServices('kafka', 'registry', 'postgres', 'redis');
  const bus = await createTestBus(t, config);
  const codec = await bus.codec();
  const now = Date.UTC(2026, 10, 25, 12, 0, 0);
  const { url } = await startPolicyService(t, bus, { API_KEY: 'test-key-policy-1' }, { clock: () => now });
  const bob = user('bob');
  // One intent per user: the consumer records each decision, which changes that user's context.
  const intents = [
    intentFor(bob, { type: 'transfer', amountMinor: 250_000, currency: 'EUR', payee: 'Carol', memo: 'rent' }),
    intentFor(user('bob2'), { type: 'message_send', medium: 'email', recipient: 'eve@elsewhere.example', subject: 'hi', body: 'hello' }),
    intentFor(user('bob3'), { type: 'command_run', host: 'web-2', command: 'sudo reboot' }),
  ];
  const viaHttp: Decision[] = [];
  for (const intent of intents) {
    const response = await fetch(`${url}/api/check-policy`, {
      method: 'POST', headers: { 'content-type': 'application/json', authorization: 'Bearer test-key-policy-1' },
      body: JSON.stringify({ intentId: intent.intentId, requester: intent.requester, conversation: intent.conversation, source: intent.source, action: intent.action }),
    });
    assert.equal(response.status, 200);
    viaHttp.push(((await response.json()) as { decision: Decision }).decision);
  }
  const assess = await fetch(`${url}/api/assess-risk`, { method: 'POST', headers: { 'content-type': 'application/json', 'x-api-key': 'test-key-policy-1' }, body: JSON.stringify({ requester: { userId: bob }, action: intents[0]!.action }) });
  const risk = (await assess.json()) as { risk: { tier: string }; requiresApproval: boolean };
  assert.equal(risk.risk.tier, viaHttp[0]!.risk.tier);
  // The HTTP calls are dry runs: the consumer then sees the same context and decides identically.
  for (const intent of intents) await publishIntent(bus, codec, { ...intent, extraction: { extractor: 'api', confidence: 1 }, submittedAt: now });
  const viaKafka = await decisionsOf(bus, codec, intents.length);
  for (const http of viaHttp) {
    const kafka = viaKafka.find((k) => k.decision.intentId === http.intentId)!.decision;
    assert.deepEqual(kafka, http);
  }
  // Bad input: unknown field, wrong type, invalid action, no key.
  const bad = async (body: unknown, headers: Record<string, string> = { authorization: 'Bearer test-key-policy-1' }) => {
    const r = await fetch(`${url}/api/check-policy`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(body) });
    return { status: r.status, body: (await r.json()) as { error: { code: string; details: { paths?: string[] } } } };
  };
  const negative = await bad({ requester: { userId: bob }, action: { type: 'transfer', amountMinor: -5, currency: 'USD', payee: 'X', memo: null } });
  assert.equal(negative.status, 400);
  assert.ok(negative.body.error.details.paths!.includes('/action/amountMinor'));
  assert.equal((await bad({ requester: { userId: bob }, action: intents[0]!.action, risk: 'low' })).body.error.details.paths![0], 'body/risk', 'the caller cannot supply risk');
  assert.equal((await bad({ requester: { userId: bob }, action: intents[0]!.action }, {})).status, 401);
  for (const intent of intents) {
    const log = await fetch(`${url}/api/decisions?userId=${intent.requester.userId}`, { headers: { authorization: 'Bearer test-key-policy-1' } });
    const logged = ((await log.json()) as { decisions: Decision[] }).decisions;
    assert.deepEqual(logged.map((d) => d.intentId), [intent.intentId], 'the decision log in PostgreSQL has the decision');
  }
  const byIntent = await fetch(`${url}/api/decisions?intentId=${intents[0]!.intentId}`, { headers: { authorization: 'Bearer test-key-policy-1' } });
  assert.equal(((await byIntent.json()) as { decisions: Decision[] }).decisions[0]!.outcome, 'require_human');
  const byRule = await fetch(`${url}/api/decisions?ruleId=human-command-always-ask&since=${now - 1}`, { headers: { authorization: 'Bearer test-key-policy-1' } });
  assert.ok(((await byRule.json()) as { decisions: Decision[] }).decisions.some((d) => d.intentId === intents[2]!.intentId));
});

test('the daily limit holds across two consumer instances: the counters live in Redis, not in a process', async (t) => {
  const config = await requireServices('kafka', 'registry', 'postgres', 'redis');
  const bus = await createTestBus(t, config);
  const codec = await bus.codec();
  const sharedRedisPrefix = `test:${randomBytes(4).toString('hex')}:`;
  const a = await startPolicyService(t, bus, { INSTANCE_ID: 'policy-a', REDIS_KEY_PREFIX: sharedRedisPrefix });
  const b = await startPolicyService(t, bus, { INSTANCE_ID: 'policy-b', REDIS_KEY_PREFIX: sharedRedisPrefix });
  await Promise.all([a.service.consumer.joined(), b.service.consumer.joined()]);
  await waitFor(() => a.service.consumer.assignment().length > 0 && b.service.consumer.assignment().length > 0, { what: 'both instances own partitions' });
  const carol = user('carol');
  const transfer = (n: number) => intentFor(carol, { type: 'transfer', amountMinor: 2_000_000, currency: 'USD', payee: `Payee ${n}`, memo: null });
  // Load for other users shows the two instances sharing the work.
  const others = Array.from({ length: 12 }, (_, i) => intentFor(user(`u${i}`), { type: 'command_run', host: 'h', command: 'uptime' }));
  for (const intent of others) await publishIntent(bus, codec, intent);
  await publishIntent(bus, codec, transfer(1));
  await publishIntent(bus, codec, transfer(2));
  const first = await decisionsOf(bus, codec, others.length + 2);
  assert.deepEqual(new Set(first.map((d) => d.producer.split('/')[1])), new Set(['policy-a', 'policy-b']), 'both instances decided some intents');
  const owner = first.find((d) => d.decision.intentId.length > 0 && d.decision.requester.userId === carol)!.producer.split('/')[1];
  // Stop the instance that owns carol's partition: the other takes over with the shared counters.
  await (owner === 'policy-a' ? a : b).runtime.shutdown('failover test');
  await publishIntent(bus, codec, transfer(3));
  await publishIntent(bus, codec, transfer(4));
  const all = await decisionsOf(bus, codec, others.length + 4);
  const carols = all.filter((d) => d.decision.requester.userId === carol).sort((x, y) => x.decision.decidedAt - y.decision.decidedAt);
  assert.equal(carols.length, 4);
  assert.deepEqual(carols.map((d) => d.decision.outcome), ['require_human', 'require_human', 'deny', 'deny']);
  assert.ok(carols[2]!.decision.firedRules.includes('deny-transfer-over-daily-limit'));
  assert.notEqual(carols[2]!.producer.split('/')[1], owner, 'decided by the surviving instance');
});

for (const dependency of ['redis', 'postgres'] as const) {
  test(`${dependency} unavailable: no decision is guessed or committed; the consumer resumes when it returns, exactly once`, async (t) => {
    const config = await requireServices('kafka', 'registry', 'postgres', 'redis');
    const bus = await createTestBus(t, config);
    const codec = await bus.codec();
    const target = dependency === 'redis' ? config.redis : config.postgres;
    const proxy = await TcpProxy.start(target.host, target.port);
    t.after(() => proxy.close());
    const env: Record<string, string> = dependency === 'redis' ? { REDIS_PORT: String(proxy.port) } : { POSTGRES_PORT: String(proxy.port) };
    const { url } = await startPolicyService(t, bus, env);
    const dave = user('dave');
    await publishIntent(bus, codec, intentFor(dave, { type: 'command_run', host: 'h', command: 'uptime' }));
    await decisionsOf(bus, codec, 1);
    assert.equal((await fetch(`${url}/ready`)).status, 200);

    proxy.cutNetwork();
    const during = intentFor(dave, { type: 'command_run', host: 'h', command: 'date' });
    await publishIntent(bus, codec, during);
    await waitFor(async () => (await fetch(`${url}/ready`)).status === 503, { timeoutMs: 15_000, what: '/ready to report the outage' });
    const ready = (await (await fetch(`${url}/ready`)).json()) as { checks: Record<string, { ok: boolean }> };
    assert.equal(ready.checks[dependency]!.ok, false);
    await sleep(3000);
    const beforeRestore = await bus.readAll(bus.topicName('sentinel.decisions'), 1, { settleMs: 500 });
    assert.equal(beforeRestore.length, 1, 'no decision while the dependency is down');

    proxy.restore();
    const after = await decisionsOf(bus, codec, 2);
    await sleep(1500);
    const final = await bus.readAll(bus.topicName('sentinel.decisions'), 2, { settleMs: 1000 });
    assert.equal(final.length, 2, 'exactly one decision for the intent sent during the outage');
    assert.equal(after.find((d) => d.decision.intentId === during.intentId)!.decision.outcome, 'allow');
    await waitFor(async () => (await fetch(`${url}/ready`)).status === 200, { timeoutMs: 15_000, what: 'ready again without a restart' });
    void randomUUID;
  });
}
