// Fault tolerance on real components, with counts. The pipeline (policy, signer, executor, each its
// own process) runs on private infrastructure that this test may break: a Kafka broker reached only
// through a TCP proxy, a PostgreSQL cluster, a Redis server and a schema registry. For each fault a
// stream of intents is sent; the fault is injected mid-stream and healed; then every intent must
// have exactly one outcome (one execution), no approval may be executed twice, nothing may be lost,
// and the services must have reported not-ready while a dependency was down and be ready again
// without being restarted.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, test } from 'node:test';
import pg from 'pg';
import { ExecutionRecorded, IntentSubmitted, intentKey } from '../../src/contracts/events.ts';
import type { Intent } from '../../src/domain/types.ts';
import { createMessaging, type Messaging } from '../../src/kafka/client.ts';
import { deterministicUuid } from '../../src/kafka/ids.ts';
import { EventPublisher } from '../../src/kafka/publisher.ts';
import { applyTopics, loadDesiredTopics } from '../../src/kafka/topics.ts';
import type { IncomingMessage, MessageProducer } from '../../src/kafka/types.ts';
import { newTrace } from '../../src/observability/trace.ts';
import { loadCatalog } from '../../src/serde/catalog.ts';
import { EventCodec } from '../../src/serde/codec.ts';
import { HttpSchemaRegistry } from '../../src/serde/registry.ts';
import { registerSchemas } from '../../src/serde/subjects.ts';
import { requireServices } from '../support/infra.ts';
import { sampleIntent } from '../support/fixtures.ts';
import { PrivateKafka, PrivatePostgres, PrivateRedis } from '../support/private-infra.ts';
import { freePort, RegistryProcess } from '../support/registry-process.ts';
import { startServiceProcess, type ServiceProcess } from '../support/service-process.ts';
import { TcpProxy } from '../support/tcp-proxy.ts';
import { sleep, waitFor } from '../support/wait.ts';

const PREFIX = `ft${randomBytes(3).toString('hex')}.`;
const SERVICES = {
  policy: 'consumers/policy/main.ts',
  signer: 'consumers/signer/main.ts',
  executor: 'consumers/executor/main.ts',
} as const;
type ServiceName = keyof typeof SERVICES;

let kafka: PrivateKafka;
let proxy: TcpProxy;
let postgres: PrivatePostgres;
let redis: PrivateRedis;
let registry: RegistryProcess;
let messaging: Messaging;
let producer: MessageProducer;
let codec: EventCodec;
let publisher: EventPublisher;
const running = new Map<ServiceName, ServiceProcess>();
let env: Record<string, string>;
const report: string[] = [];

async function startService(name: ServiceName): Promise<void> {
  running.set(name, await startServiceProcess(SERVICES[name], await freePort(), { ...env, INSTANCE_ID: `ft-${name}` }));
}

before(async () => {
  const shared = await requireServices('postgres');
  const proxyPort = await freePort();
  kafka = await PrivateKafka.create({ advertisedPort: proxyPort });
  await kafka.start();
  proxy = await TcpProxy.start('127.0.0.1', kafka.port, proxyPort);
  postgres = await PrivatePostgres.create();
  await postgres.start();
  redis = await PrivateRedis.create();
  await redis.start();
  registry = await RegistryProcess.create(shared.postgres, `sentinel_registry_${PREFIX.replaceAll('.', '')}`);
  await registry.start();
  const brokers = [`127.0.0.1:${proxyPort}`];
  messaging = createMessaging({ brokers, clientId: 'fault-test', client: 'platformatic' });
  const admin = messaging.admin();
  const topics = loadDesiredTopics({ prefix: PREFIX });
  await applyTopics(admin, topics);
  await admin.close();
  const schemaRegistry = new HttpSchemaRegistry(registry.url);
  await registerSchemas(schemaRegistry, loadCatalog(), topics);
  codec = new EventCodec(schemaRegistry, loadCatalog());
  await codec.useWriter(`${PREFIX}sentinel.intents`, 'IntentSubmitted');
  codec.useReader(`${PREFIX}sentinel.executions`, 'ExecutionRecorded');
  producer = messaging.producer();
  publisher = new EventPublisher({ producer, codec, topicName: (l) => PREFIX + l, producerName: 'fault-test' });
  env = {
    TOPIC_PREFIX: PREFIX, KAFKA_BROKERS: brokers.join(','), SCHEMA_REGISTRY_URL: registry.url,
    POSTGRES_HOST: '127.0.0.1', POSTGRES_PORT: String(postgres.port), POSTGRES_DB: 'sentinel', POSTGRES_USER: 'postgres', POSTGRES_PASSWORD: '',
    REDIS_HOST: '127.0.0.1', REDIS_PORT: String(redis.port), LOG_LEVEL: 'warn', NODE_ENV: 'test',
  };
  for (const name of Object.keys(SERVICES) as ServiceName[]) await startService(name);
});

after(async () => {
  for (const service of running.values()) await service.stop().catch(() => {});
  await producer?.close().catch(() => {});
  await proxy?.close().catch(() => {});
  await registry?.stop().catch(() => {});
  await registry?.dropDatabase().catch(() => {});
  await redis?.destroy().catch(() => {});
  await postgres?.destroy().catch(() => {});
  await kafka?.destroy().catch(() => {});
  process.stdout.write(`\nfault-tolerance report\n| fault | intents sent | outcomes | executed twice | lost | not-ready seen | ready again after |\n|---|---:|---:|---:|---:|---|---:|\n${report.join('\n')}\n`);
});

/** Publishes until acknowledged (as a channel would on behalf of a retrying client); the same event id on retries. */
async function send(intent: Intent): Promise<void> {
  const eventId = deterministicUuid('fault-test', intent.intentId);
  for (;;) {
    try {
      await publisher.publish(IntentSubmitted, intent, { key: intentKey(intent), trace: newTrace(), eventId });
      return;
    } catch {
      await sleep(250);
    }
  }
}

async function readExecutions(timeoutMs: number, expected: number): Promise<IncomingMessage[]> {
  const received: IncomingMessage[] = [];
  const consumer = messaging.consumer({ groupId: `ft-reader-${randomBytes(4).toString('hex')}`, topics: [`${PREFIX}sentinel.executions`], readCommitted: true, sessionTimeoutMs: 6000 });
  void consumer.run(async (batch) => { received.push(...batch.messages); });
  try {
    await waitFor(() => received.length >= expected, { timeoutMs, what: `${expected} execution records (got ${received.length})` }).catch(() => {});
    await sleep(1500);
  } finally {
    await consumer.stop();
  }
  return received;
}

async function readiness(names: readonly ServiceName[]): Promise<Record<string, number>> {
  const statuses: Record<string, number> = {};
  for (const name of names) {
    statuses[name] = await fetch(`${running.get(name)!.url}/ready`, { signal: AbortSignal.timeout(4000) }).then((r) => r.status, () => 0);
  }
  return statuses;
}

async function executionsInDatabase(): Promise<Array<{ approval_id: string; intent_id: string }>> {
  const client = new pg.Client({ host: '127.0.0.1', port: postgres.port, user: 'postgres', database: 'sentinel' });
  await client.connect();
  try {
    return (await client.query<{ approval_id: string; intent_id: string }>('SELECT approval_id, intent_id FROM executor_executions')).rows;
  } finally {
    await client.end();
  }
}

let seenApprovals = 0;

interface Scenario {
  name: string;
  /** Services whose /ready must say 503 while the fault lasts (empty: none required). */
  notReady: readonly ServiceName[];
  inject(): Promise<void>;
  heal(): Promise<void>;
}

async function runScenario(scenario: Scenario): Promise<void> {
  const count = 120;
  const run = randomBytes(2).toString('hex');
  const intents = Array.from({ length: count }, (_, i) => {
    const userId = `ft-${run}-${i}`;
    return sampleIntent({
      requester: { userId, channel: 'http', channelUserId: userId, displayName: null },
      conversation: { channel: 'http', conversationId: `c-${userId}` },
      action: { type: 'command_run', host: 'build-01', command: 'uptime' }, text: null,
    });
  });
  const sending = (async () => {
    for (const intent of intents) {
      await send(intent);
      await sleep(25);
    }
  })();
  await sleep(800);
  await scenario.inject();
  const notReadySeen = new Set<string>();
  const faultUntil = Date.now() + 6000;
  while (Date.now() < faultUntil) {
    for (const [name, status] of Object.entries(await readiness(scenario.notReady))) if (status !== 200) notReadySeen.add(name);
    await sleep(500);
  }
  const healedAt = Date.now();
  await scenario.heal();
  await sending;
  const all = Object.keys(SERVICES) as ServiceName[];
  let statuses: Record<string, number> = {};
  await waitFor(async () => Object.values(statuses = await readiness(all)).every((s) => s === 200), { timeoutMs: 90_000, intervalMs: 500, what: 'every service ready again' })
    .catch(async (error: unknown) => {
      for (const [name, status] of Object.entries(statuses)) {
        if (status === 200) continue;
        const body = await fetch(`${running.get(name as ServiceName)!.url}/ready`).then((r) => r.text(), (e: Error) => e.message);
        const { child } = running.get(name as ServiceName)!;
        process.stdout.write(`--- ${name} not ready (${status}; exit code ${child.exitCode}, signal ${child.signalCode}): ${body}\n${running.get(name as ServiceName)!.log().split('\n').slice(-40).join('\n')}\n`);
      }
      throw error;
    });
  const readyAfter = (Date.now() - healedAt) / 1000;

  const records = await readExecutions(120_000, seenApprovals + count);
  const outcomes = new Map<string, Set<string>>();
  for (const record of records) {
    const { data } = ExecutionRecorded.fromAvro((await codec.decode<Record<string, unknown>>(record.topic, record.value!)).value);
    const set = outcomes.get(data.intentId) ?? new Set<string>();
    set.add(`${data.status}:${data.executionId}`);
    outcomes.set(data.intentId, set);
  }
  const mine = intents.map((i) => outcomes.get(i.intentId));
  const lost = mine.filter((o) => o === undefined).length;
  const withOneOutcome = mine.filter((o) => o?.size === 1).length;
  const rows = await executionsInDatabase();
  const perApproval = new Map<string, number>();
  for (const row of rows) perApproval.set(row.approval_id, (perApproval.get(row.approval_id) ?? 0) + 1);
  const mineRows = rows.filter((r) => intents.some((i) => i.intentId === r.intent_id));
  const executedTwice = [...new Set(mineRows.map((r) => r.approval_id))].filter((a) => (perApproval.get(a) ?? 0) > 1).length
    + (mineRows.length - new Set(mineRows.map((r) => r.intent_id)).size);
  seenApprovals += withOneOutcome;
  report.push(`| ${scenario.name} | ${count} | ${withOneOutcome} | ${executedTwice} | ${lost} | ${scenario.notReady.length === 0 ? '(not required)' : [...notReadySeen].sort().join(', ') || 'none'} | ${readyAfter.toFixed(1)} s |`);

  if (lost > 0 || executedTwice > 0) {
    for (const [name, service] of running) {
      const metrics = await fetch(`${service.url}/metrics`).then((r) => r.text(), () => '');
      const counters = metrics.split('\n').filter((l) => /^sentinel_(events_consumed|events_produced|dead_letters|consumer_retries|consumer_assigned)/.test(l)).join('\n');
      process.stdout.write(`--- ${name} log (tail)\n${service.log().split('\n').slice(-25).join('\n')}\n--- ${name} counters\n${counters}\n`);
    }
  }
  assert.equal(lost, 0, `${scenario.name}: intents without an outcome`);
  assert.equal(withOneOutcome, count, `${scenario.name}: every intent has exactly one outcome`);
  assert.ok(mine.every((o) => [...o!].every((v) => v.startsWith('executed:'))), `${scenario.name}: every outcome is an execution`);
  assert.equal(executedTwice, 0, `${scenario.name}: no approval executed twice`);
  assert.equal(mineRows.length, count, `${scenario.name}: one execution row per intent`);
  for (const name of scenario.notReady) assert.ok(notReadySeen.has(name), `${scenario.name}: ${name} reported not-ready during the fault`);
}

test('the broker restarted in the middle of a stream of intents', { timeout: 300_000 }, () => runScenario({
  name: 'broker restarted', notReady: ['policy', 'signer', 'executor'],
  inject: () => kafka.stop(),
  heal: () => kafka.start(),
}));

test('a consumer killed mid-batch (SIGKILL of the executor, then restarted)', { timeout: 300_000 }, () => runScenario({
  name: 'executor killed mid-batch', notReady: [],
  inject: async () => { await running.get('executor')!.kill(); },
  heal: () => startService('executor'),
}));

test('PostgreSQL stopped and started', { timeout: 300_000 }, () => runScenario({
  name: 'PostgreSQL stopped', notReady: ['policy', 'signer', 'executor'],
  inject: () => postgres.stop('fast'),
  heal: () => postgres.start(),
}));

test('Redis stopped and started', { timeout: 300_000 }, () => runScenario({
  name: 'Redis stopped', notReady: ['policy', 'signer'],
  inject: () => redis.stop(),
  heal: () => redis.start(),
}));

test('the schema registry down', { timeout: 300_000 }, () => runScenario({
  name: 'schema registry down', notReady: ['policy', 'signer', 'executor'],
  inject: () => registry.stop(),
  heal: () => registry.start(),
}));

test('the network to the broker slowed, then cut', { timeout: 300_000 }, () => runScenario({
  name: 'network slowed then cut', notReady: ['policy', 'signer', 'executor'],
  inject: async () => {
    proxy.slow(80);
    await sleep(3000);
    proxy.cutNetwork();
  },
  heal: async () => { proxy.restore(); },
}));
