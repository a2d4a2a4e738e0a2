// The only module that imports the Kafka client (kafkajs 2.2.4). It implements the project's
// messaging interface (src/kafka/types.ts): an idempotent acks=all producer that coalesces
// concurrent sends into one request, a transactional producer for consume-process-produce,
// a group consumer with manual offsets, and the admin calls the topic CLI needs.
import kafkajs from 'kafkajs';
import type { Logger } from '../observability/log.ts';
import { BatchingProducer } from './batching.ts';
import { asMessagingError } from './errors.ts';
import { chunkBySize, MAX_REQUEST_BYTES } from './limits.ts';
import type {
  GroupConsumer, IncomingMessage, MessageProducer, MessagingAdmin, OutgoingMessage, PartitionBatch,
  TopicPartitionOffset, TopicSpecActual, TransactionalProducer,
} from './types.ts';

const { Kafka, logLevel: KafkaLogLevel, Partitioners, ConfigResourceTypes } = kafkajs;
type KafkaClient = InstanceType<typeof Kafka>;

export interface KafkaSettings {
  brokers: string[];
  clientId: string;
  logger?: Logger;
  /** Connection and request timeouts; lower them in fault tests. */
  connectionTimeoutMs?: number;
  requestTimeoutMs?: number;
}

function toLogCreator(logger: Logger | undefined) {
  return () => ({ namespace, level, log }: { namespace: string; level: number; log: { message: string } & Record<string, unknown> }) => {
    if (!logger) return;
    const { message, timestamp: _timestamp, logger: _name, ...extra } = log;
    const entry = { component: `kafkajs.${namespace}`, ...extra };
    if (level === KafkaLogLevel.ERROR) logger.error(entry, message);
    else if (level === KafkaLogLevel.WARN) logger.warn(entry, message);
    else logger.debug(entry, message);
  };
}

export function createKafka(settings: KafkaSettings): KafkaClient {
  return new Kafka({
    clientId: settings.clientId,
    brokers: settings.brokers,
    logLevel: settings.logger ? KafkaLogLevel.INFO : KafkaLogLevel.NOTHING,
    logCreator: toLogCreator(settings.logger),
    connectionTimeout: settings.connectionTimeoutMs ?? 3000,
    requestTimeout: settings.requestTimeoutMs ?? 30_000,
    retry: { initialRetryTime: 100, maxRetryTime: 5000, retries: 8 },
  });
}

function toTopicMessages(messages: OutgoingMessage[]) {
  const byTopic = new Map<string, Array<{ key: string | null; value: Buffer; headers: Record<string, string> }>>();
  for (const m of messages) {
    let list = byTopic.get(m.topic);
    if (!list) byTopic.set(m.topic, (list = []));
    list.push({ key: m.key, value: m.value, headers: m.headers });
  }
  return [...byTopic].map(([topic, msgs]) => ({ topic, messages: msgs }));
}

/** Idempotent, acks=all producer; concurrent sends are coalesced (see BatchingProducer). */
export function createProducer(kafka: KafkaClient, options: { maxBatch?: number } = {}): MessageProducer {
  const producer = kafka.producer({
    idempotent: true,
    maxInFlightRequests: 1,
    allowAutoTopicCreation: false,
    createPartitioner: Partitioners.DefaultPartitioner,
    retry: { initialRetryTime: 100, maxRetryTime: 3000, retries: 10 },
  });
  let connected: Promise<void> | null = null;
  const connect = () => (connected ??= producer.connect().catch((error: unknown) => { connected = null; throw error; }));
  return new BatchingProducer(
    async (messages) => {
      try {
        await connect();
        await producer.sendBatch({ acks: -1, topicMessages: toTopicMessages(messages) });
      } catch (error) {
        throw asMessagingError(error, 'produce failed');
      }
    },
    async () => { if (connected) await producer.disconnect().catch(() => {}); connected = null; },
    options.maxBatch,
  );
}

class KafkaJsTransactionalProducer implements TransactionalProducer {
  private readonly producer: ReturnType<KafkaClient['producer']>;
  private connected: Promise<void> | null = null;

  constructor(kafka: KafkaClient, transactionalId: string, transactionTimeoutMs: number) {
    this.producer = kafka.producer({
      transactionalId,
      idempotent: true,
      maxInFlightRequests: 1,
      transactionTimeout: transactionTimeoutMs,
      allowAutoTopicCreation: false,
      createPartitioner: Partitioners.DefaultPartitioner,
      retry: { initialRetryTime: 100, maxRetryTime: 3000, retries: 10 },
    });
  }

  private connect(): Promise<void> {
    if (!this.connected) {
      this.connected = this.producer.connect().catch((error: unknown) => {
        this.connected = null;
        throw error;
      });
    }
    return this.connected;
  }

  async commitBatch(messages: OutgoingMessage[], offsets: TopicPartitionOffset[], groupId: string, beforeCommit?: () => Promise<void>): Promise<void> {
    try {
      await this.connect();
    } catch (error) {
      throw asMessagingError(error, 'transactional producer cannot connect');
    }
    const transaction = await this.producer.transaction().catch((error: unknown) => {
      throw asMessagingError(error, 'cannot begin transaction');
    });
    try {
      for (const chunk of chunkBySize(messages, MAX_REQUEST_BYTES)) await transaction.sendBatch({ acks: -1, topicMessages: toTopicMessages(chunk) });
      const byTopic = new Map<string, Array<{ partition: number; offset: string }>>();
      for (const o of offsets) {
        let list = byTopic.get(o.topic);
        if (!list) byTopic.set(o.topic, (list = []));
        list.push({ partition: o.partition, offset: o.offset });
      }
      await transaction.sendOffsets({ consumerGroupId: groupId, topics: [...byTopic].map(([topic, partitions]) => ({ topic, partitions })) });
      if (beforeCommit) await beforeCommit();
      await transaction.commit();
    } catch (error) {
      await transaction.abort().catch(() => {});
      throw asMessagingError(error, 'transaction failed');
    }
  }

  async close(): Promise<void> {
    if (this.connected) await this.producer.disconnect().catch(() => {});
    this.connected = null;
  }
}

export function createTransactionalProducer(kafka: KafkaClient, transactionalId: string, transactionTimeoutMs = 15_000): TransactionalProducer {
  return new KafkaJsTransactionalProducer(kafka, transactionalId, transactionTimeoutMs);
}

function headersToStrings(headers: Record<string, unknown> | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  if (!headers) return out;
  for (const [name, value] of Object.entries(headers)) {
    const first = Array.isArray(value) ? value[0] : value;
    if (first === undefined || first === null) continue;
    out[name] = Buffer.isBuffer(first) ? first.toString('utf8') : String(first);
  }
  return out;
}

export interface ConsumerOptions {
  groupId: string;
  topics: string[];
  fromBeginning?: boolean;
  sessionTimeoutMs?: number;
  maxBytesPerPartition?: number;
  maxWaitTimeMs?: number;
  /** Read only committed transactional records (default true). */
  readCommitted?: boolean;
}

class KafkaJsGroupConsumer implements GroupConsumer {
  private readonly consumer: ReturnType<KafkaClient['consumer']>;
  private readonly options: ConsumerOptions;
  private current: Array<{ topic: string; partitions: number[] }> = [];
  private joinedOnce: Promise<void>;
  private markJoined: () => void = () => {};

  constructor(kafka: KafkaClient, options: ConsumerOptions) {
    this.options = options;
    this.consumer = kafka.consumer({
      groupId: options.groupId,
      sessionTimeout: options.sessionTimeoutMs ?? 10_000,
      rebalanceTimeout: 30_000,
      heartbeatInterval: 1000,
      maxWaitTimeInMs: options.maxWaitTimeMs ?? 100,
      maxBytesPerPartition: options.maxBytesPerPartition ?? 1024 * 1024,
      readUncommitted: options.readCommitted === false,
      allowAutoTopicCreation: false,
      retry: { initialRetryTime: 200, maxRetryTime: 5000, retries: 10 },
    });
    this.joinedOnce = new Promise((resolve) => { this.markJoined = resolve; });
    this.consumer.on(this.consumer.events.GROUP_JOIN, (event: { payload: { memberAssignment: Record<string, number[]> } }) => {
      this.current = Object.entries(event.payload.memberAssignment).map(([topic, partitions]) => ({ topic, partitions: [...partitions].sort((a, b) => a - b) }));
      this.markJoined();
    });
  }

  async run(onBatch: (batch: PartitionBatch) => Promise<void>): Promise<void> {
    await this.consumer.connect();
    await this.consumer.subscribe({ topics: this.options.topics, fromBeginning: this.options.fromBeginning ?? true });
    await this.consumer.run({
      autoCommit: false,
      eachBatchAutoResolve: false,
      partitionsConsumedConcurrently: 1,
      eachBatch: async ({ batch, heartbeat, isRunning, isStale, resolveOffset }) => {
        if (isStale() || batch.messages.length === 0) return;
        const messages: IncomingMessage[] = batch.messages.map((m) => ({
          topic: batch.topic,
          partition: batch.partition,
          offset: m.offset,
          key: m.key ?? null,
          value: m.value ?? null,
          headers: headersToStrings(m.headers as Record<string, unknown> | undefined),
          timestamp: Number(m.timestamp),
        }));
        const last = BigInt(batch.lastOffset());
        const high = BigInt(batch.highWatermark);
        await onBatch({
          topic: batch.topic,
          partition: batch.partition,
          messages,
          heartbeat,
          isRunning: () => isRunning() && !isStale(),
          resolveOffset,
          lagAfter: () => Math.max(0, Number(high - last - 1n)),
        });
      },
    });
  }

  async commit(offsets: TopicPartitionOffset[]): Promise<void> {
    try {
      await this.consumer.commitOffsets(offsets);
    } catch (error) {
      throw asMessagingError(error, 'offset commit failed');
    }
  }

  async stop(): Promise<void> {
    await this.consumer.disconnect();
  }

  assignment(): Array<{ topic: string; partitions: number[] }> {
    return this.current;
  }

  joined(): Promise<void> {
    return this.joinedOnce;
  }
}

export function createGroupConsumer(kafka: KafkaClient, options: ConsumerOptions): GroupConsumer {
  return new KafkaJsGroupConsumer(kafka, options);
}

class KafkaJsAdmin implements MessagingAdmin {
  private readonly admin: ReturnType<KafkaClient['admin']>;
  private connected: Promise<void> | null = null;
  constructor(kafka: KafkaClient) {
    this.admin = kafka.admin({ retry: { retries: 3 } });
  }

  private async ready(): Promise<void> {
    if (!this.connected) {
      this.connected = this.admin.connect().catch((error: unknown) => {
        this.connected = null;
        throw asMessagingError(error, 'admin cannot connect');
      });
    }
    return this.connected;
  }

  async listTopics(): Promise<string[]> {
    await this.ready();
    return this.admin.listTopics();
  }

  async describeTopics(names: string[], configKeys: string[]): Promise<TopicSpecActual[]> {
    await this.ready();
    if (names.length === 0) return [];
    const metadata = await this.admin.fetchTopicMetadata({ topics: names });
    const configs = await this.admin.describeConfigs({
      includeSynonyms: false,
      resources: names.map((name) => ({ type: ConfigResourceTypes.TOPIC, name, configNames: configKeys })),
    });
    return metadata.topics.map((t) => {
      const resource = configs.resources.find((r) => r.resourceName === t.name);
      const config: Record<string, string> = {};
      for (const entry of resource?.configEntries ?? []) config[entry.configName] = entry.configValue;
      return { name: t.name, partitions: t.partitions.length, replication: t.partitions[0]?.replicas.length ?? 0, config };
    });
  }

  async createTopic(spec: { name: string; partitions: number; replication: number; config: Record<string, string> }): Promise<void> {
    await this.ready();
    await this.admin.createTopics({
      waitForLeaders: true,
      topics: [{
        topic: spec.name,
        numPartitions: spec.partitions,
        replicationFactor: spec.replication,
        configEntries: Object.entries(spec.config).map(([name, value]) => ({ name, value })),
      }],
    });
  }

  async addPartitions(name: string, total: number): Promise<void> {
    await this.ready();
    await this.admin.createPartitions({ topicPartitions: [{ topic: name, count: total }] });
  }

  async alterConfig(name: string, config: Record<string, string>): Promise<void> {
    await this.ready();
    await this.admin.alterConfigs({
      validateOnly: false,
      resources: [{ type: ConfigResourceTypes.TOPIC, name, configEntries: Object.entries(config).map(([n, value]) => ({ name: n, value })) }],
    });
  }

  async deleteTopics(names: string[]): Promise<void> {
    await this.ready();
    if (names.length > 0) await this.admin.deleteTopics({ topics: names });
  }

  async groupLag(groupId: string, topics: string[]) {
    await this.ready();
    const committed = await this.admin.fetchOffsets({ groupId, topics });
    const rows: Array<{ topic: string; partition: number; committed: string; high: string; lag: number }> = [];
    for (const t of committed) {
      const highs = await this.admin.fetchTopicOffsets(t.topic);
      for (const p of t.partitions) {
        const high = highs.find((h) => h.partition === p.partition)?.high ?? '0';
        const done = p.offset === '-1' ? 0n : BigInt(p.offset);
        rows.push({ topic: t.topic, partition: p.partition, committed: p.offset, high, lag: Number(BigInt(high) - done) });
      }
    }
    return rows;
  }

  async deleteGroups(groupIds: string[]): Promise<void> {
    await this.ready();
    if (groupIds.length > 0) await this.admin.deleteGroups(groupIds);
  }

  async ping(): Promise<void> {
    await this.ready();
    await this.admin.describeCluster();
  }

  async close(): Promise<void> {
    if (this.connected) await this.admin.disconnect().catch(() => {});
    this.connected = null;
  }
}

export function createAdmin(kafka: KafkaClient): MessagingAdmin {
  return new KafkaJsAdmin(kafka);
}
