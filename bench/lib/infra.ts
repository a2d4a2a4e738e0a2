// Benchmarks run against the same real infrastructure as the tests (scripts/bench.sh starts it).
import { randomBytes } from 'node:crypto';
import { loadConfig, type Config } from '../../src/config/index.ts';
import { createAdmin, createKafka } from '../../src/kafka/kafkajs.ts';
import { applyTopics, loadDesiredTopics, type DesiredTopic } from '../../src/kafka/topics.ts';
import { loadCatalog } from '../../src/serde/catalog.ts';
import { EventCodec } from '../../src/serde/codec.ts';
import { HttpSchemaRegistry, valueSubject } from '../../src/serde/registry.ts';
import { registerSchemas } from '../../src/serde/subjects.ts';

export function benchConfig(): Config {
  return loadConfig('cli', { ...process.env, LOG_LEVEL: 'silent' });
}

export function runId(label: string): string {
  return `b${Date.now().toString(36)}${randomBytes(2).toString('hex')}-${label}`;
}

/** Creates every pipeline topic under a fresh prefix, registers schemas, returns a ready codec. */
export async function benchBus(config: Config, label: string, partitionsOverride?: number): Promise<{
  prefix: string; topics: DesiredTopic[]; codec: EventCodec; topicName(l: string): string; cleanup(): Promise<void>;
}> {
  const prefix = `${runId(label)}.`;
  const topics = loadDesiredTopics({ prefix }).map((t) => (partitionsOverride && t.schema ? { ...t, partitions: partitionsOverride } : t));
  const admin = createAdmin(createKafka({ brokers: config.kafka.brokers, clientId: 'bench' }));
  await applyTopics(admin, topics);
  const registry = new HttpSchemaRegistry(config.registry.url);
  const catalog = loadCatalog();
  await registerSchemas(registry, catalog, topics);
  const codec = new EventCodec(registry, catalog);
  for (const t of topics) {
    if (!t.schema) continue;
    await codec.useWriter(t.name, t.schema.name);
    codec.useReader(t.name, t.schema.name);
  }
  return {
    prefix, topics, codec, topicName: (l) => prefix + l,
    async cleanup() {
      await admin.deleteTopics(topics.map((t) => t.name)).catch(() => {});
      await admin.close();
      for (const t of topics) if (t.schema) await registry.deleteSubject(valueSubject(t.name)).catch(() => {});
    },
  };
}

export async function createRawTopic(config: Config, name: string, partitions: number): Promise<() => Promise<void>> {
  const admin = createAdmin(createKafka({ brokers: config.kafka.brokers, clientId: 'bench' }));
  await admin.createTopic({ name, partitions, replication: 1, config: {} });
  return async () => { await admin.deleteTopics([name]).catch(() => {}); await admin.close(); };
}
