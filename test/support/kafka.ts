// Broker test kit (after platformatic/kafka's test/helpers.ts): each test gets its own topic
// prefix and consumer groups, created from topics.yaml with schemas registered, and every client
// it opens is closed in t.after.
import { randomBytes } from 'node:crypto';
import type { TestContext } from 'node:test';
import type { Config } from '../../src/config/index.ts';
import { createMessaging, type Messaging } from '../../src/kafka/client.ts';
import { applyTopics, loadDesiredTopics, type DesiredTopic } from '../../src/kafka/topics.ts';
import type { IncomingMessage, MessagingAdmin } from '../../src/kafka/types.ts';
import { loadCatalog, type CatalogEntry } from '../../src/serde/catalog.ts';
import { EventCodec } from '../../src/serde/codec.ts';
import { HttpSchemaRegistry, valueSubject } from '../../src/serde/registry.ts';
import { registerSchemas } from '../../src/serde/subjects.ts';
import { waitFor } from './wait.ts';

let catalog: Map<string, CatalogEntry> | undefined;
export function testCatalog(): Map<string, CatalogEntry> {
  return (catalog ??= loadCatalog());
}

export function uniqueName(label: string): string {
  return `t${Date.now().toString(36)}-${randomBytes(3).toString('hex')}-${label}`;
}

export interface TestBus {
  config: Config;
  prefix: string;
  topics: DesiredTopic[];
  messaging: Messaging;
  admin: MessagingAdmin;
  registry: HttpSchemaRegistry;
  topicName(logical: string): string;
  /** A codec with writers and readers for every pipeline topic. */
  codec(): Promise<EventCodec>;
  producer(): ReturnType<Messaging['producer']>;
  transactionalProducer(id: string): ReturnType<Messaging['transactionalProducer']>;
  consumer(options: { groupId: string; topics: string[]; fromBeginning?: boolean; readCommitted?: boolean }): ReturnType<Messaging['consumer']>;
  /** Reads records of a physical topic from the beginning until `count` arrive (or times out). */
  readAll(topic: string, count: number, options?: { timeoutMs?: number; readCommitted?: boolean; settleMs?: number }): Promise<IncomingMessage[]>;
}

/** Creates every topic of topics.yaml under a fresh prefix and registers their schemas. */
export async function createTestBus(t: TestContext, config: Config): Promise<TestBus> {
  const prefix = `${uniqueName('bus')}.`;
  const topics = loadDesiredTopics({ prefix });
  const messaging = createMessaging({ brokers: config.kafka.brokers, clientId: 'sentinel-test', client: config.kafka.client });
  const admin = messaging.admin();
  const registry = new HttpSchemaRegistry(config.registry.url);
  const closers: Array<() => Promise<void>> = [];
  // Registered before set-up, so the admin client is closed (and what was made removed) even when set-up fails.
  t.after(async () => {
    for (const close of closers.reverse()) await close().catch(() => {});
    await admin.deleteTopics(topics.map((topic) => topic.name)).catch(() => {});
    await admin.close();
    for (const topic of topics) if (topic.schema) await registry.deleteSubject(valueSubject(topic.name)).catch(() => {});
  });
  await applyTopics(admin, topics);
  await registerSchemas(registry, testCatalog(), topics);
  const topicName = (logical: string) => `${prefix}${logical}`;
  const bus: TestBus = {
    config, prefix, topics, messaging, admin, registry, topicName,
    async codec() {
      const codec = new EventCodec(registry, testCatalog());
      for (const topic of topics) {
        if (!topic.schema) continue;
        await codec.useWriter(topic.name, topic.schema.name);
        codec.useReader(topic.name, topic.schema.name);
      }
      return codec;
    },
    producer() {
      const p = messaging.producer();
      closers.push(() => p.close());
      return p;
    },
    transactionalProducer(id) {
      const p = messaging.transactionalProducer(id);
      closers.push(() => p.close());
      return p;
    },
    consumer(options) {
      const c = messaging.consumer({ ...options, sessionTimeoutMs: 6000 });
      closers.push(() => c.stop());
      return c;
    },
    async readAll(topic, count, options = {}) {
      const received: IncomingMessage[] = [];
      const consumer = messaging.consumer({
        groupId: uniqueName('reader'), topics: [topic], fromBeginning: true, readCommitted: options.readCommitted ?? true, sessionTimeoutMs: 6000,
      });
      void consumer.run(async (batch) => {
        received.push(...batch.messages);
        for (const m of batch.messages) batch.resolveOffset(m.offset);
      });
      try {
        await waitFor(() => received.length >= count, { timeoutMs: options.timeoutMs ?? 30_000 }).catch(() => {
          throw new Error(`timed out waiting for ${count} records on ${topic} (got ${received.length})`);
        });
        if (options.settleMs) await new Promise((resolve) => setTimeout(resolve, options.settleMs));
      } finally {
        await consumer.stop();
      }
      return received;
    },
  };
  return bus;
}
