// One trace id followed through every hop: the four services run as their own processes (as in
// production) with LOG_LEVEL=debug; an agent's request comes in over HTTP with a W3C traceparent;
// the test collects every service's JSON log lines and the records on every topic for that request
// and checks that they all carry the caller's trace id, and that the spans form one unbroken chain:
// caller → channels HTTP → intent record → policy → decision → signer → approval → executor →
// execution and reply → channels delivering the reply to the conversation.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { test } from 'node:test';
import { apiHeaders, writeTestConstitution, writeTestIdentities } from '../support/channels-service.ts';
import { requireServices } from '../support/infra.ts';
import { createTestBus } from '../support/kafka.ts';
import { E2E_API_KEY, E2E_DB, freePort } from '../support/pipeline.ts';
import { startServiceProcess, type ServiceProcess } from '../support/service-process.ts';
import { waitFor } from '../support/wait.ts';

interface LogLine { level: number; msg: string; service?: string; traceId?: string; spanId?: string; parentSpanId?: string | null; topic?: string; eventType?: string; outputs?: string[]; route?: string; method?: string; status?: number }

const MAINS = {
  executor: 'consumers/executor/main.ts',
  signer: 'consumers/signer/main.ts',
  policy: 'consumers/policy/main.ts',
  channels: 'producers/channels/main.ts',
} as const;
type Name = keyof typeof MAINS;

function jsonLines(text: string): LogLine[] {
  return text.split('\n').filter((l) => l.startsWith('{')).flatMap((l) => {
    try { return [JSON.parse(l) as LogLine]; } catch { return []; }
  });
}

test('one trace id is followed from the HTTP request through every Kafka hop to the reply, in the logs of every service', { timeout: 180_000 }, async (t) => {
  const config = await requireServices('kafka', 'registry', 'postgres', 'redis');
  const bus = await createTestBus(t, config);
  const people = await writeTestIdentities(t);
  const rules = await writeTestConstitution(t, {});
  const env = {
    TOPIC_PREFIX: bus.prefix, KAFKA_CLIENT: config.kafka.client, POSTGRES_DB: E2E_DB, IDENTITY_LINKS_FILE: people.file,
    POLICY_RULES_FILE: rules, API_KEY: E2E_API_KEY, RATE_LIMIT_MAX_REQUESTS: '100000', NODE_ENV: 'test',
    LOG_LEVEL: 'debug', REDIS_KEY_PREFIX: `test:${randomBytes(4).toString('hex')}:`,
  };
  const services = new Map<Name, ServiceProcess>();
  t.after(async () => { for (const s of [...services.values()].reverse()) await s.stop(); });
  for (const name of Object.keys(MAINS) as Name[]) {
    const extra: Record<string, string> = name === 'channels' ? { WS_PORT: String(await freePort()) } : {};
    services.set(name, await startServiceProcess(MAINS[name], await freePort(), { ...env, ...extra, INSTANCE_ID: `trace-${name}` }));
  }
  const channels = services.get('channels')!;

  const traceId = randomBytes(16).toString('hex');
  const callerSpan = randomBytes(8).toString('hex');
  const response = await fetch(`${channels.url}/api/message`, {
    method: 'POST',
    headers: { ...apiHeaders(E2E_API_KEY), traceparent: `00-${traceId}-${callerSpan}-01` },
    body: JSON.stringify({ userId: `${people.alice.userId}-agent`, toolCall: { tool: 'command_run', arguments: { host: 'build-07', command: 'uptime' } } }),
  });
  const accepted = (await response.json()) as { intentId: string; traceId: string; links: { messages: string } };
  assert.equal(response.status, 202, JSON.stringify(accepted));
  assert.equal(accepted.traceId, traceId, 'the 202 names the caller\'s trace id');
  assert.equal(response.headers.get('x-trace-id'), traceId);

  // The outcome reaches the conversation (the reply consumer of the channels service wrote it).
  await waitFor(async () => {
    const history = (await (await fetch(`${channels.url}${accepted.links.messages}`, { headers: apiHeaders(E2E_API_KEY) })).json()) as { messages: Array<{ intentId: string | null; direction: string; text: string }> };
    return history.messages.some((m) => m.intentId === accepted.intentId && m.direction === 'out' && m.text.startsWith('Done:'));
  }, { timeoutMs: 60_000, what: 'the outcome in the conversation' });

  // Every record of the request, on every topic, carries the trace id in its headers.
  const recordOf = async (logical: string) => {
    const records = await bus.readAll(bus.topicName(logical), 1, { timeoutMs: 20_000, settleMs: 300 });
    const ours = records.filter((r) => r.headers['x-trace-id'] === traceId);
    assert.equal(ours.length, 1, `${logical}: one record with the trace id (of ${records.length})`);
    const record = ours[0]!;
    assert.equal(record.headers.traceparent, `00-${traceId}-${record.headers['x-span-id']}-01`, `${logical}: traceparent agrees with X-Trace-ID/X-Span-ID`);
    return { spanId: record.headers['x-span-id']!, parentSpanId: record.headers['x-parent-span-id'] ?? null };
  };
  const intent = await recordOf('sentinel.intents');
  const decision = await recordOf('sentinel.decisions');
  const approval = await recordOf('sentinel.approvals');
  const execution = await recordOf('sentinel.executions');
  const reply = await recordOf('sentinel.replies');

  // The logs of every service, for this trace id only.
  let logs: Record<Name, LogLine[]> = {} as Record<Name, LogLine[]>;
  const collect = () => {
    logs = Object.fromEntries([...services].map(([name, s]) => [name, jsonLines(s.log()).filter((l) => l.traceId === traceId)])) as Record<Name, LogLine[]>;
    return logs;
  };
  // A service may host several consumer groups (the signer also keeps the audit trail): the hop is the one that produced the next event.
  const handled = (name: Name, topic: string, produces?: string) => logs[name].find((l) => l.msg === 'event handled' && l.topic === bus.topicName(topic)
    && (produces === undefined || (l.outputs ?? []).includes(produces)));
  await waitFor(() => collect() && handled('channels', 'sentinel.replies') !== undefined, { timeoutMs: 10_000, what: 'the channels service\'s log of the reply' });

  const http = logs.channels.find((l) => l.msg === 'request handled' && l.route === '/api/message');
  assert.ok(http, `channels logged the request: ${JSON.stringify(logs.channels)}`);
  assert.equal(http.status, 202);
  assert.equal(http.parentSpanId, callerSpan, 'the HTTP span is a child of the caller\'s span');
  assert.ok(logs.channels.some((l) => l.msg === 'intent submitted'), 'channels logged the intent');

  const policy = handled('policy', 'sentinel.intents', 'sentinel.decision.made');
  const signer = handled('signer', 'sentinel.decisions', 'sentinel.approval.signed');
  const executor = handled('executor', 'sentinel.approvals', 'sentinel.execution.recorded');
  const replies = handled('channels', 'sentinel.replies');
  for (const [name, line] of Object.entries({ policy, signer, executor, replies })) assert.ok(line, `${name}: "event handled" with the trace id; logs: ${JSON.stringify(logs)}`);
  // The audit trail recorded each hop of the same trace (its consumer group runs in the signer).
  const audited = new Set(logs.signer.filter((l) => l.msg === 'event handled' && (l.outputs ?? []).includes('sentinel.audit.recorded')).map((l) => l.topic));
  for (const topic of ['sentinel.intents', 'sentinel.decisions', 'sentinel.approvals', 'sentinel.executions']) {
    assert.ok(audited.has(bus.topicName(topic)), `the audit consumer logged ${topic} with the trace id (audited: ${[...audited].join(', ')})`);
  }

  // One unbroken chain of spans, each hop the child of the one before.
  assert.ok([http.spanId, http.parentSpanId].includes(intent.spanId) || intent.parentSpanId === http.spanId,
    `the intent record continues the HTTP span (${JSON.stringify({ http, intent })})`);
  assert.equal(policy!.parentSpanId, intent.spanId, 'policy continues the intent record\'s span');
  assert.equal(decision.spanId, policy!.spanId, 'the decision record carries the policy span');
  assert.equal(signer!.parentSpanId, decision.spanId, 'signer continues the decision record\'s span');
  assert.equal(approval.spanId, signer!.spanId, 'the approval record carries the signer span');
  assert.equal(executor!.parentSpanId, approval.spanId, 'executor continues the approval record\'s span');
  assert.equal(execution.spanId, executor!.spanId, 'the execution record carries the executor span');
  assert.equal(reply.spanId, executor!.spanId, 'the reply record carries the executor span');
  assert.equal(replies!.parentSpanId, reply.spanId, 'channels continues the reply record\'s span');
  assert.ok(logs.channels.some((l) => l.msg === 'reply handled' && l.spanId === replies!.spanId), 'channels logged recording the reply in the conversation, in the same span');

  const spans = [http.spanId, policy!.spanId, signer!.spanId, executor!.spanId, replies!.spanId];
  assert.equal(new Set(spans).size, spans.length, 'each hop has its own span');

  // Debug logging shows a lot; it never shows a configured secret.
  for (const s of services.values()) assert.ok(!s.log().includes(E2E_API_KEY), 'no log line contains the API key');
});
