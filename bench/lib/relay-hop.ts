// One hop of the no-op relay chain (the e2e benchmark's baseline, B-relay(n) of the performance
// research): a ConsumerRunner built like the services' (same messaging client and its default
// consumer settings, the registry codec, transactional delivery with a transactional producer),
// whose handler does no work: it forwards each IntentSubmitted record unchanged from IN_TOPIC to
// OUT_TOPIC. Run as a child process by bench/e2e.bench.ts.
// env: TOPIC_PREFIX, KAFKA_*, SCHEMA_REGISTRY_URL, IN_TOPIC and OUT_TOPIC (logical names),
//      GROUP_ID, TX_ID. Prints "ready" once the consumer has joined its group.
import client from 'prom-client';
import { IntentSubmitted, intentKey, type EventDefinition } from '../../src/contracts/events.ts';
import { loadConfig } from '../../src/config/index.ts';
import type { Intent } from '../../src/domain/types.ts';
import { createMessaging } from '../../src/kafka/client.ts';
import { ConsumerRunner } from '../../src/kafka/runner.ts';
import { createLogger } from '../../src/observability/log.ts';
import { runnerMetrics } from '../../src/observability/metrics.ts';
import { loadCatalog } from '../../src/serde/catalog.ts';
import { EventCodec } from '../../src/serde/codec.ts';
import { HttpSchemaRegistry } from '../../src/serde/registry.ts';

const config = loadConfig('cli');
const inTopic = process.env.IN_TOPIC!;
const outTopic = process.env.OUT_TOPIC!;
const groupId = process.env.GROUP_ID!;
const topicName = (logical: string) => config.kafka.topicPrefix + logical;
const input: EventDefinition<Intent> = { ...IntentSubmitted, topic: inTopic };
const output: EventDefinition<Intent> = { ...IntentSubmitted, topic: outTopic };
const logger = createLogger({ service: 'relay-hop', level: 'warn', secrets: [] });
const messaging = createMessaging({ brokers: config.kafka.brokers, clientId: `${config.kafka.clientId}-relay`, client: config.kafka.client, logger });
const codec = new EventCodec(new HttpSchemaRegistry(config.registry.url), loadCatalog());
codec.useReader(topicName(inTopic), IntentSubmitted.schemaName);
await codec.useWriter(topicName(outTopic), IntentSubmitted.schemaName, { autoRegister: true });
const consumer = messaging.consumer({ groupId, topics: [topicName(inTopic)] });
const producer = messaging.transactionalProducer(process.env.TX_ID!);
const runner = new ConsumerRunner({
  groupId, subscriptions: [input], consumer, codec, topicName, delivery: { mode: 'transactional', producer },
  producerName: `relay/${groupId}`, logger, metrics: runnerMetrics(new client.Registry(), groupId),
  handler: async (events) => events.map((e) => {
    const intent = e.data as Intent;
    return { outputs: [{ definition: output, key: intentKey(intent), data: intent }] };
  }),
});
process.on('SIGTERM', () => {
  void runner.stop().then(() => producer.close()).finally(() => process.exit(0));
});
void runner.start().catch((error: unknown) => {
  process.stderr.write(`relay hop ${inTopic} -> ${outTopic} failed: ${String(error)}\n`);
  process.exit(1);
});
await consumer.joined();
process.stdout.write('ready\n');
