// Issue 3's first benchmark: what the Kafka client and our messaging core cost.
// Same broker, same run, same payload bytes, three ways:
//   core        — our EventPublisher (Avro + registry-resolved schema id + trace headers, batching
//                 idempotent producer) and ConsumerRunner (decode, validate, commit per batch);
//   kafkajs     — kafkajs alone with raw bytes (idempotent, acks=all; eachBatch, commit per batch);
//   platformatic— @platformatic/kafka with raw bytes (idempotent, acks=all; stream consumer).
// Throughput: N records produced as fast as acks come back, then consumed from the start.
// Latency: open-loop produce at a fixed rate while the consumer runs; produce→consume per record.
import { Consumer, Producer, ProduceAcks } from '@platformatic/kafka';
import kafkajs from 'kafkajs';
import { IntentSubmitted, conversationKey } from '../src/contracts/events.ts';
import { createMessaging, type KafkaClientName } from '../src/kafka/client.ts';
import { EventPublisher } from '../src/kafka/publisher.ts';
import { ConsumerRunner } from '../src/kafka/runner.ts';
import { createLogger } from '../src/observability/log.ts';
import { newTrace } from '../src/observability/trace.ts';
import { sampleIntent } from '../test/support/fixtures.ts';
import { benchBus, benchConfig, createRawTopic, runId } from './lib/infra.ts';
import { writeReport } from './lib/report.ts';
import { fmt, fmtInt, median, nowMs, summarize, type Summary } from './lib/stats.ts';

const N = Number(process.env.BENCH_MESSAGES ?? 20_000);
const RATE = Number(process.env.BENCH_RATE ?? 500);
const SECONDS = Number(process.env.BENCH_SECONDS ?? 8);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 2);
const PARTITIONS = 3;
const config = benchConfig();
const silent = createLogger({ service: 'bench', level: 'silent', secrets: [] });

interface Result { produceRate: number; consumeRate: number; latency: Summary }

const intent = sampleIntent();
const trace = newTrace();

async function waitUntil(check: () => boolean, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out: ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

/** Fires `send(i)` at a fixed rate without waiting for earlier sends (open loop). */
async function openLoop(rate: number, seconds: number, send: (i: number) => Promise<unknown>): Promise<number> {
  const total = Math.round(rate * seconds);
  const start = nowMs();
  const pending: Array<Promise<unknown>> = [];
  for (let i = 0; i < total; i++) {
    const due = start + (i * 1000) / rate;
    const wait = due - nowMs();
    if (wait > 1) await new Promise((r) => setTimeout(r, wait));
    pending.push(send(i));
  }
  await Promise.all(pending);
  return total;
}

async function core(client: KafkaClientName): Promise<Result> {
  const bus = await benchBus(config, 'core', PARTITIONS);
  const messaging = createMessaging({ brokers: config.kafka.brokers, clientId: 'bench-core', client });
  const producer = messaging.producer();
  const publisher = new EventPublisher({ producer, codec: bus.codec, topicName: bus.topicName, producerName: 'bench' });
  const topic = bus.topicName('sentinel.intents');
  const keys = Array.from({ length: 64 }, (_, i) => conversationKey({ channel: 'web', conversationId: `c${i}` }));
  const message = (i: number, sentAt?: number) => {
    const m = publisher.encode(IntentSubmitted, { ...intent, intentId: `i-${i}` }, { key: keys[i % keys.length]!, trace });
    if (sentAt !== undefined) m.headers['x-bench-sent-at'] = String(sentAt);
    return m;
  };
  // throughput: produce N, then consume them from the start
  let t0 = nowMs();
  const sends: Array<Promise<void>> = [];
  for (let i = 0; i < N; i++) sends.push(producer.send([message(i)]));
  await Promise.all(sends);
  const produceRate = N / ((nowMs() - t0) / 1000);

  let consumed = 0;
  const latencies: number[] = [];
  let measuring = false;
  const groupId = runId('g');
  const runner = new ConsumerRunner({
    groupId, subscriptions: [IntentSubmitted], codec: bus.codec, topicName: bus.topicName, producerName: 'bench', logger: silent,
    consumer: messaging.consumer({ groupId, topics: [topic] }),
    delivery: { mode: 'at-least-once', producer: messaging.producer() },
    handler: async (events) => events.map((e) => {
      consumed++;
      const sentAt = e.message.headers['x-bench-sent-at'];
      if (measuring && sentAt) latencies.push(nowMs() - Number(sentAt));
      return { outputs: [] };
    }),
  });
  t0 = nowMs();
  void runner.start();
  await waitUntil(() => consumed >= N, 120_000, 'core consume');
  const consumeRate = N / ((nowMs() - t0) / 1000);
  // latency: open loop at RATE while the consumer is running
  measuring = true;
  const sent = await openLoop(RATE, SECONDS, (i) => producer.send([message(N + i, nowMs())]));
  await waitUntil(() => latencies.length >= sent, 30_000, 'core latency samples');
  await runner.stop();
  await producer.close();
  await bus.cleanup();
  return { produceRate, consumeRate, latency: summarize(latencies) };
}

async function kafkajsRaw(payload: Buffer): Promise<Result> {
  const topic = runId('kjs');
  const cleanup = await createRawTopic(config, topic, PARTITIONS);
  const kafka = new kafkajs.Kafka({ clientId: 'bench-kjs', brokers: config.kafka.brokers, logLevel: kafkajs.logLevel.NOTHING });
  const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1, createPartitioner: kafkajs.Partitioners.DefaultPartitioner });
  await producer.connect();
  let t0 = nowMs();
  for (let i = 0; i < N; i += 2000) {
    const messages = Array.from({ length: Math.min(2000, N - i) }, (_, j) => ({ key: `c${(i + j) % 64}`, value: payload }));
    await producer.send({ topic, acks: -1, messages });
  }
  const produceRate = N / ((nowMs() - t0) / 1000);
  const consumer = kafka.consumer({ groupId: runId('g'), maxWaitTimeInMs: 100 });
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  let consumed = 0;
  let measuring = false;
  const latencies: number[] = [];
  t0 = nowMs();
  await consumer.run({
    autoCommit: false, eachBatchAutoResolve: false,
    eachBatch: async ({ batch, resolveOffset }) => {
      for (const m of batch.messages) {
        consumed++;
        if (measuring && m.headers?.['x-bench-sent-at']) latencies.push(nowMs() - Number(m.headers['x-bench-sent-at'].toString()));
        resolveOffset(m.offset);
      }
      await consumer.commitOffsets([{ topic: batch.topic, partition: batch.partition, offset: (BigInt(batch.lastOffset()) + 1n).toString() }]);
    },
  });
  await waitUntil(() => consumed >= N, 120_000, 'kafkajs consume');
  const consumeRate = N / ((nowMs() - t0) / 1000);
  measuring = true;
  const sent = await openLoop(RATE, SECONDS, (i) => producer.send({ topic, acks: -1, messages: [{ key: `c${i % 64}`, value: payload, headers: { 'x-bench-sent-at': String(nowMs()) } }] }));
  await waitUntil(() => latencies.length >= sent, 30_000, 'kafkajs latency samples');
  await consumer.disconnect();
  await producer.disconnect();
  await cleanup();
  return { produceRate, consumeRate, latency: summarize(latencies) };
}

async function platformatic(payload: Buffer): Promise<Result> {
  const topic = runId('plt');
  const cleanup = await createRawTopic(config, topic, PARTITIONS);
  const producer = new Producer({ clientId: 'bench-plt', bootstrapBrokers: config.kafka.brokers, idempotent: true, acks: ProduceAcks.ALL, autocreateTopics: false });
  let t0 = nowMs();
  for (let i = 0; i < N; i += 2000) {
    const messages = Array.from({ length: Math.min(2000, N - i) }, (_, j) => ({ topic, key: Buffer.from(`c${(i + j) % 64}`), value: payload }));
    await producer.send({ messages });
  }
  const produceRate = N / ((nowMs() - t0) / 1000);
  const consumer = new Consumer({ groupId: runId('g'), clientId: 'bench-plt-c', bootstrapBrokers: config.kafka.brokers, maxWaitTime: 100 });
  let consumed = 0;
  let measuring = false;
  const latencies: number[] = [];
  t0 = nowMs();
  const stream = await consumer.consume({ topics: [topic], mode: 'earliest', autocommit: true });
  stream.on('data', (m: { headers: Map<Buffer, Buffer> }) => {
    consumed++;
    if (!measuring) return;
    for (const [k, v] of m.headers) if (k.toString() === 'x-bench-sent-at') latencies.push(nowMs() - Number(v.toString()));
  });
  await waitUntil(() => consumed >= N, 120_000, 'platformatic consume');
  const consumeRate = N / ((nowMs() - t0) / 1000);
  measuring = true;
  const sent = await openLoop(RATE, SECONDS, () => producer.send({ messages: [{ topic, key: Buffer.from('k'), value: payload, headers: new Map([[Buffer.from('x-bench-sent-at'), Buffer.from(String(nowMs()))]]) }] }));
  await waitUntil(() => latencies.length >= sent, 30_000, 'platformatic latency samples');
  await stream.close();
  await consumer.close();
  await producer.close();
  await cleanup();
  return { produceRate, consumeRate, latency: summarize(latencies) };
}

async function main(): Promise<void> {
  // The raw baselines carry exactly the bytes our core puts on the wire for one intent.
  const probe = await benchBus(config, 'probe', 1);
  const publisher = new EventPublisher({ producer: { send: async () => {}, close: async () => {} }, codec: probe.codec, topicName: probe.topicName, producerName: 'bench' });
  const payload = publisher.encode(IntentSubmitted, intent, { key: 'k', trace }).value;
  await probe.cleanup();

  const results: Record<string, Result[]> = { core: [], coreKafkajs: [], kafkajs: [], platformatic: [] };
  for (let round = 0; round < ROUNDS; round++) {
    // Interleaved so drift on a shared machine hits every variant alike.
    results.kafkajs!.push(await kafkajsRaw(payload));
    results.core!.push(await core('platformatic'));
    results.platformatic!.push(await platformatic(payload));
    results.coreKafkajs!.push(await core('kafkajs'));
  }
  const med = (name: string, pick: (r: Result) => number) => median(results[name]!.map(pick));
  const labels: Record<string, string> = {
    core: 'Sentinel core on @platformatic/kafka (Avro, registry, trace headers) — default',
    coreKafkajs: 'Sentinel core on kafkajs (KAFKA_CLIENT=kafkajs)',
    kafkajs: 'kafkajs 2.2.4 alone, raw bytes',
    platformatic: '@platformatic/kafka 2.12 alone, raw bytes',
  };
  const rows = ['core', 'coreKafkajs', 'kafkajs', 'platformatic'].map((name) => [
    labels[name]!,
    fmtInt(med(name, (r) => r.produceRate)), fmtInt(med(name, (r) => r.consumeRate)),
    fmt(med(name, (r) => r.latency.p50)), fmt(med(name, (r) => r.latency.p95)), fmt(med(name, (r) => r.latency.p99)),
  ]);
  const ratio = (a: number, b: number) => fmt(a / b, 2);
  const ratios: string[][] = [
    ['produce throughput', ratio(med('core', (r) => r.produceRate), med('kafkajs', (r) => r.produceRate)), ratio(med('core', (r) => r.produceRate), med('platformatic', (r) => r.produceRate))],
    ['consume throughput', ratio(med('core', (r) => r.consumeRate), med('kafkajs', (r) => r.consumeRate)), ratio(med('core', (r) => r.consumeRate), med('platformatic', (r) => r.consumeRate))],
    ['round trip p50', ratio(med('core', (r) => r.latency.p50), med('kafkajs', (r) => r.latency.p50)), ratio(med('core', (r) => r.latency.p50), med('platformatic', (r) => r.latency.p50))],
    ['round trip p99', ratio(med('core', (r) => r.latency.p99), med('kafkajs', (r) => r.latency.p99)), ratio(med('core', (r) => r.latency.p99), med('platformatic', (r) => r.latency.p99))],
  ];
  writeReport('messaging',
    `${N.toLocaleString('en-US')} records of ${payload.length} bytes, ${PARTITIONS} partitions, one local broker (RF 1, acks=all, idempotent producers). ` +
    `Latency: open loop at ${RATE} records/s for ${SECONDS} s while the consumer runs, produce→consume per record. Medians of ${ROUNDS} interleaved rounds.`,
    [
      { title: 'Throughput and round-trip latency', columns: ['client', 'produce rec/s', 'consume rec/s', 'p50 ms', 'p95 ms', 'p99 ms'], rows },
      { title: 'Sentinel core (default client) as a ratio to each baseline (same run)', columns: ['measure', 'core / kafkajs', 'core / platformatic'], rows: ratios },
    ],
    results,
    [
      { measure: 'produce rec/s (core, default client)', value: med('core', (r) => r.produceRate), unit: '/s', baseline: '@platformatic/kafka alone', baselineValue: med('platformatic', (r) => r.produceRate), ratio: med('core', (r) => r.produceRate) / med('platformatic', (r) => r.produceRate), goal: 'informs the client choice', met: true },
      { measure: 'consume rec/s (core, default client)', value: med('core', (r) => r.consumeRate), unit: '/s', baseline: '@platformatic/kafka alone', baselineValue: med('platformatic', (r) => r.consumeRate), ratio: med('core', (r) => r.consumeRate) / med('platformatic', (r) => r.consumeRate), goal: 'informs the client choice', met: true },
      { measure: `round trip p99 at ${RATE}/s (core, default client)`, value: med('core', (r) => r.latency.p99), unit: 'ms', baseline: '@platformatic/kafka alone', baselineValue: med('platformatic', (r) => r.latency.p99), ratio: med('core', (r) => r.latency.p99) / med('platformatic', (r) => r.latency.p99), goal: 'informs the client choice', met: true },
      { measure: `round trip p50 at ${RATE}/s, kafkajs alone`, value: med('kafkajs', (r) => r.latency.p50), unit: 'ms', baseline: '@platformatic/kafka alone', baselineValue: med('platformatic', (r) => r.latency.p50), ratio: med('kafkajs', (r) => r.latency.p50) / med('platformatic', (r) => r.latency.p50), goal: 'informs the client choice', met: true },
    ]);
}

await main();
process.exit(0);
