// Issue 4's benchmark: decisions/s of the policy consumer on the real broker, PostgreSQL and
// Redis, as a ratio to the pure decide() called in a loop in the same run; and the HTTP
// assess-risk latency at a fixed request rate. The service runs in a child process.
import { randomBytes } from 'node:crypto';
import { IntentSubmitted, intentKey } from '../src/contracts/events.ts';
import type { Action, Intent } from '../src/domain/types.ts';
import { createMessaging } from '../src/kafka/client.ts';
import { EventPublisher } from '../src/kafka/publisher.ts';
import { newTrace } from '../src/observability/trace.ts';
import { decide, deriveDecisionId, emptyContext, loadRuleSet } from '../src/policy/index.ts';
import { sampleIntent } from '../test/support/fixtures.ts';
import { benchBus, benchConfig } from './lib/infra.ts';
import { bareHttpServer, openLoop } from './lib/load.ts';
import { writeReport } from './lib/report.ts';
import { startServiceProcess } from '../test/support/service-process.ts';
import { fmt, fmtInt, nowMs } from './lib/stats.ts';

const N = Number(process.env.BENCH_INTENTS ?? 20_000);
const RATE = Number(process.env.BENCH_RATE ?? 1000);
const SECONDS = Number(process.env.BENCH_SECONDS ?? 5);
const config = benchConfig();
const run = randomBytes(3).toString('hex');

function workload(count: number): Intent[] {
  const actions: Action[] = [
    { type: 'command_run', host: 'build-01', command: 'df -h' },
    { type: 'transfer', amountMinor: 4500, currency: 'USD', payee: 'Bob', memo: null },
    { type: 'message_send', medium: 'email', recipient: 'team@aureus.example', subject: 'status', body: 'all green' },
    { type: 'transfer', amountMinor: 250_000, currency: 'EUR', payee: 'Carol', memo: 'invoice 42' },
    { type: 'tool_call', tool: 'weather.lookup', argumentsJson: '{"city":"Oslo"}' },
  ];
  return Array.from({ length: count }, (_, i) => {
    const userId = `bench-${run}-u${i % 500}`;
    return sampleIntent({
      intentId: `bench-${run}-${i}`,
      requester: { userId, channel: 'http', channelUserId: userId, displayName: null },
      conversation: { channel: 'http', conversationId: `c-${userId}` },
      action: actions[i % actions.length]!, text: null, source: 'agent', submittedAt: Date.now(),
    });
  });
}

async function pureDecideRate(intents: Intent[]): Promise<number> {
  const ruleSet = await loadRuleSet(config.policy.rulesFile);
  const context = emptyContext();
  const now = Date.now();
  for (let i = 0; i < 5000; i++) decide(intents[i % intents.length]!, context, ruleSet, { now, decisionId: deriveDecisionId(intents[i % intents.length]!.intentId) });
  const start = nowMs();
  for (const intent of intents) decide(intent, context, ruleSet, { now, decisionId: deriveDecisionId(intent.intentId) });
  return intents.length / ((nowMs() - start) / 1000);
}

async function consumerRate(intents: Intent[]): Promise<{ rate: number; seconds: number }> {
  const bus = await benchBus(config, 'policy');
  const messaging = createMessaging({ brokers: config.kafka.brokers, clientId: 'bench-policy', client: config.kafka.client });
  const producer = messaging.producer();
  const publisher = new EventPublisher({ producer, codec: bus.codec, topicName: bus.topicName, producerName: 'bench' });
  const trace = newTrace();
  await Promise.all(intents.map((intent) => publisher.publish(IntentSubmitted, intent, { key: intentKey(intent), trace })));
  await producer.close();
  const admin = messaging.admin();
  const group = `${bus.prefix}sentinel-policy`;
  const service = await startServiceProcess('consumers/policy/main.ts', 15_000 + Math.floor(Math.random() * 1000), {
    TOPIC_PREFIX: bus.prefix, POSTGRES_DB: 'sentinel_bench', REDIS_KEY_PREFIX: `bench:${run}:`, INSTANCE_ID: 'bench-policy',
  });
  const total = BigInt(intents.length);
  let firstProgress = 0;
  let committedAtFirstProgress = 0n;
  let done = 0;
  const deadline = Date.now() + 600_000;
  while (Date.now() < deadline) {
    const lag = await admin.groupLag(group, [bus.topicName('sentinel.intents')]).catch(() => []);
    const committed = lag.reduce((sum, row) => sum + (row.committed === '-1' ? 0n : BigInt(row.committed)), 0n);
    if (committed > 0n && firstProgress === 0) {
      firstProgress = nowMs();
      committedAtFirstProgress = committed;
    }
    if (committed >= total) { done = nowMs(); break; }
    await new Promise((r) => setTimeout(r, 50));
  }
  await service.stop();
  await admin.close();
  await bus.cleanup();
  if (!done) throw new Error(`policy consumer did not finish: ${service.log()}`);
  // The intents committed after the first commit was seen, over the time they took: start-up and
  // group join are excluded, and so is the first batch (its start is not observable from outside).
  const measured = total - committedAtFirstProgress;
  if (measured * 10n < total) throw new Error(`only ${measured} of ${total} intents were committed after the first commit: too few to time; raise BENCH_INTENTS`);
  const seconds = (done - firstProgress) / 1000;
  return { rate: Number(measured) / seconds, seconds };
}

async function httpAssessRisk(intents: Intent[]) {
  const bus = await benchBus(config, 'policy-http');
  const port = 16_000 + Math.floor(Math.random() * 1000);
  const service = await startServiceProcess('consumers/policy/main.ts', port, {
    TOPIC_PREFIX: bus.prefix, POSTGRES_DB: 'sentinel_bench', REDIS_KEY_PREFIX: `bench:${run}:http:`, API_KEY: 'bench-key-0123456789',
    RATE_LIMIT_MAX_REQUESTS: '10000000', INSTANCE_ID: 'bench-policy-http',
  });
  const target = {
    url: `${service.url}/api/assess-risk`,
    headers: { authorization: 'Bearer bench-key-0123456789' },
    body: (i: number) => {
      const intent = intents[i % intents.length]!;
      return JSON.stringify({ requester: { userId: intent.requester.userId, channel: 'http' }, action: intent.action });
    },
  };
  await openLoop(target, RATE, 2); // warm-up
  const result = await openLoop(target, RATE, SECONDS);
  await service.stop();
  await bus.cleanup();
  const bare = await bareHttpServer();
  const baseline = await openLoop({ url: bare.url, body: target.body }, RATE, SECONDS);
  await bare.close();
  return { ...result, baseline };
}

const intents = workload(N);
const pure = await pureDecideRate(intents);
const consumer = await consumerRate(intents);
const pureAfter = await pureDecideRate(intents);
const http = await httpAssessRisk(intents);
const pureMedian = (pure + pureAfter) / 2;
writeReport('policy',
  `${N.toLocaleString('en-US')} intents (5 action types, 500 users) through the policy consumer (one process, one broker, real PostgreSQL and Redis stores, ` +
  `decisions written with their offsets in Kafka transactions), counting the intents committed after the first commit is seen, over the time to the last. The pure baseline is decide() ` +
  `on the same intents in a loop (measured before and after; mean). HTTP: POST /api/assess-risk, open loop at ${RATE} req/s for ${SECONDS} s after a 2 s warm-up, ` +
  'latency counted from when each request was due. Goals: >= 20,000 decisions/s per core through the consumer; HTTP p99 < 10 ms at 1,000 req/s.',
  [
    { title: 'Consumer throughput vs the pure function', columns: ['measure', 'decisions/s', 'ratio to pure decide()'], rows: [
      ['pure decide() in a loop (baseline)', fmtInt(pureMedian), '1.00'],
      ['policy consumer, end to end', fmtInt(consumer.rate), fmt(consumer.rate / pureMedian, 3)],
    ] },
    { title: `POST /api/assess-risk at ${RATE} req/s, and a bare node:http server at the same rate`, columns: ['server', 'achieved req/s', 'p50 ms', 'p95 ms', 'p99 ms', 'max ms', 'errors', 'statuses'], rows: [
      ['policy /api/assess-risk', fmtInt(http.achievedRate), fmt(http.latency.p50), fmt(http.latency.p95), fmt(http.latency.p99), fmt(http.latency.max), String(http.errors), JSON.stringify(http.statuses)],
      ['bare node:http (baseline)', fmtInt(http.baseline.achievedRate), fmt(http.baseline.latency.p50), fmt(http.baseline.latency.p95), fmt(http.baseline.latency.p99), fmt(http.baseline.latency.max), String(http.baseline.errors), JSON.stringify(http.baseline.statuses)],
    ] },
  ],
  { pure, pureAfter, consumer, http },
  [
    { measure: 'policy consumer decisions/s', value: consumer.rate, unit: '/s', baseline: 'pure decide() loop', baselineValue: pureMedian, ratio: consumer.rate / pureMedian, goal: '>= 20,000/s per core (seed: 500/s)', met: consumer.rate >= 20_000 },
    { measure: `assess-risk p99 at ${RATE} req/s`, value: http.latency.p99, unit: 'ms', baseline: 'bare node:http p99', baselineValue: http.baseline.latency.p99, ratio: http.latency.p99 / http.baseline.latency.p99, goal: 'p99 < 10 ms at 1,000 req/s', met: http.latency.p99 < 10 && http.achievedRate >= RATE * 0.95 },
  ]);
process.exit(0);
