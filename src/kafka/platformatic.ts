// Messaging adapter on @platformatic/kafka: the default client (see docs/messaging.md for the
// measurements behind the choice). Implements the same interface as the kafkajs adapter.
// Transactional commits go through TxnOffsetCommit with the group's generation and member id
// (KIP-447), so a consumer that lost its partitions in a rebalance cannot commit a stale batch.
import {
  Consumer, FetchIsolationLevels, ProduceAcks, Producer, compatibilityPartitioner,
  type Message,
} from '@platformatic/kafka';
import { BatchingProducer } from './batching.ts';
import { asMessagingError } from './kafkajs.ts';
import type {
  GroupConsumer, IncomingMessage, MessageProducer, OutgoingMessage, PartitionBatch, TopicPartitionOffset, TransactionalProducer,
} from './types.ts';
import type { ConsumerOptions } from './kafkajs.ts';

export interface PlatformaticSettings { brokers: string[]; clientId: string; timeoutMs?: number }

type NativeMessage = Message<Buffer, Buffer, Buffer, Buffer>;

function toRecords(messages: OutgoingMessage[]) {
  return messages.map((m) => ({
    topic: m.topic,
    key: m.key === null ? undefined : Buffer.from(m.key),
    value: m.value,
    headers: new Map(Object.entries(m.headers).map(([k, v]) => [Buffer.from(k), Buffer.from(v)])),
  }));
}

function producerOptions(settings: PlatformaticSettings, clientSuffix: string) {
  return {
    clientId: `${settings.clientId}-${clientSuffix}`,
    bootstrapBrokers: settings.brokers,
    idempotent: true,
    acks: ProduceAcks.ALL,
    autocreateTopics: false,
    partitioner: compatibilityPartitioner, // murmur2 & 0x7fffffff: the same partition as the Java client
    timeout: settings.timeoutMs ?? 30_000,
    retries: 10,
    retryDelay: 250,
  };
}

export function createPlatformaticProducer(settings: PlatformaticSettings, options: { maxBatch?: number } = {}): MessageProducer {
  const producer = new Producer(producerOptions(settings, 'producer'));
  return new BatchingProducer(
    async (messages) => {
      try {
        await producer.send({ messages: toRecords(messages) });
      } catch (error) {
        throw asMessagingError(error, 'produce failed');
      }
    },
    () => producer.close().catch(() => {}),
    options.maxBatch,
  );
}

class PlatformaticTransactionalProducer implements TransactionalProducer {
  private readonly producer: Producer<Buffer, Buffer, Buffer, Buffer>;
  constructor(settings: PlatformaticSettings, transactionalId: string) {
    // KIP-360: a producer without state must ask for an id with -1/-1. The client's default of 0/0
    // makes the broker refuse a restarted instance (same transactional id) as fenced.
    this.producer = new Producer<Buffer, Buffer, Buffer, Buffer>({ ...producerOptions(settings, 'tx'), transactionalId, producerId: -1n, producerEpoch: -1 });
  }

  async commitBatch(messages: OutgoingMessage[], offsets: TopicPartitionOffset[], groupId: string, beforeCommit?: () => Promise<void>): Promise<void> {
    let transaction;
    try {
      transaction = await this.producer.beginTransaction();
    } catch (error) {
      // A failed begin (e.g. CONCURRENT_TRANSACTIONS while the broker aborts a fenced
      // transaction) leaves the client holding it as active; drop it so the retry can begin.
      await this.discard();
      throw asMessagingError(error, 'cannot begin transaction');
    }
    try {
      if (messages.length > 0) await transaction.send({ messages: toRecords(messages) });
      await transaction.addConsumer({ groupId } as unknown as Consumer);
      for (const offset of offsets) {
        const native = offset.lastMessage?.native as NativeMessage | undefined;
        if (!native) throw new TypeError('platformatic transactions need the consumed message (IncomingMessage.native)');
        await transaction.addOffset(native);
      }
      if (beforeCommit) await beforeCommit();
      await transaction.commit();
    } catch (error) {
      await transaction.abort().catch(() => this.discard());
      throw asMessagingError(error, 'transaction failed');
    }
  }

  private async discard(): Promise<void> {
    const dangling = this.producer.transaction;
    if (dangling && !dangling.completed) await dangling.cancel().catch(() => {});
  }

  async close(): Promise<void> {
    await this.producer.close().catch(() => {});
  }
}

export function createPlatformaticTransactionalProducer(settings: PlatformaticSettings, transactionalId: string): TransactionalProducer {
  return new PlatformaticTransactionalProducer(settings, transactionalId);
}

function toIncoming(m: NativeMessage): IncomingMessage {
  const headers: Record<string, string> = {};
  for (const [k, v] of m.headers) headers[k.toString()] = v.toString();
  return {
    topic: m.topic,
    partition: m.partition,
    offset: m.offset.toString(),
    key: m.key && m.key.length > 0 ? m.key : null,
    value: m.value ?? null,
    headers,
    timestamp: Number(m.timestamp),
    native: m,
  };
}

/**
 * Group consumer over platformatic's message stream. Messages are buffered as they arrive and
 * handed over per partition, in offset order; the stream pauses while the buffer is full. A
 * rebalance invalidates what was buffered (the stream re-reads from committed offsets), so
 * messages of an older group generation are dropped rather than processed.
 */
class PlatformaticGroupConsumer implements GroupConsumer {
  private readonly consumer: Consumer<Buffer, Buffer, Buffer, Buffer>;
  private readonly options: ConsumerOptions;
  private readonly maxBuffered = 5000;
  private buffer: NativeMessage[] = [];
  private wake: (() => void) | null = null;
  private running = false;
  private generation = -1;
  private stream: Awaited<ReturnType<Consumer<Buffer, Buffer, Buffer, Buffer>['consume']>> | null = null;
  private loop: Promise<void> = Promise.resolve();
  private joinedOnce: Promise<void>;
  private markJoined: () => void = () => {};
  private readonly pendingCommits = new Map<string, { topic: string; partition: number; offset: bigint; leaderEpoch: number }>();
  private committing: Promise<void> | null = null;

  constructor(settings: PlatformaticSettings, options: ConsumerOptions) {
    this.options = options;
    this.consumer = new Consumer({
      groupId: options.groupId,
      clientId: `${settings.clientId}-consumer`,
      bootstrapBrokers: settings.brokers,
      sessionTimeout: options.sessionTimeoutMs ?? 10_000,
      rebalanceTimeout: 30_000,
      heartbeatInterval: 1000,
      maxWaitTime: options.maxWaitTimeMs ?? 100,
      minBytes: 1,
      maxBytesPerPartition: options.maxBytesPerPartition ?? 1024 * 1024,
      isolationLevel: options.readCommitted === false ? FetchIsolationLevels.READ_UNCOMMITTED : FetchIsolationLevels.READ_COMMITTED,
      autocommit: false,
      timeout: settings.timeoutMs ?? 30_000,
      retries: 10,
      retryDelay: 250,
    });
    this.joinedOnce = new Promise((resolve) => { this.markJoined = resolve; });
    this.consumer.on('consumer:group:join', (payload: { generationId?: number }) => {
      this.generation = payload.generationId ?? this.generation;
      this.buffer = this.buffer.filter((m) => this.isCurrent(m));
      this.markJoined();
    });
  }

  private isCurrent(m: NativeMessage): boolean {
    const generation = (m.metadata as { consumer?: { generationId?: number } }).consumer?.generationId;
    return generation === undefined || generation === this.generation;
  }

  async run(onBatch: (batch: PartitionBatch) => Promise<void>): Promise<void> {
    this.running = true;
    this.stream = await this.consumer.consume({
      topics: this.options.topics,
      mode: 'committed',
      fallbackMode: this.options.fromBeginning === false ? 'latest' : 'earliest',
      autocommit: false,
    });
    const stream = this.stream;
    stream.on('data', (message: NativeMessage) => {
      this.buffer.push(message);
      if (this.buffer.length >= this.maxBuffered) stream.pause();
      this.wake?.();
    });
    stream.on('error', () => { this.wake?.(); });
    this.loop = this.process(onBatch);
    await this.loop;
  }

  private async process(onBatch: (batch: PartitionBatch) => Promise<void>): Promise<void> {
    while (this.running) {
      if (this.buffer.length === 0) {
        await new Promise<void>((resolve) => { this.wake = resolve; });
        this.wake = null;
        continue;
      }
      const taken = this.buffer;
      this.buffer = [];
      if (this.stream?.isPaused()) this.stream.resume();
      const byPartition = new Map<string, NativeMessage[]>();
      for (const m of taken) {
        if (!this.isCurrent(m)) continue;
        const key = `${m.topic}\u0000${m.partition}`;
        let list = byPartition.get(key);
        if (!list) byPartition.set(key, (list = []));
        list.push(m);
      }
      for (const messages of byPartition.values()) {
        if (!this.running) return;
        const first = messages[0]!;
        if (!this.isCurrent(first)) continue;
        await onBatch({
          topic: first.topic,
          partition: first.partition,
          messages: messages.map(toIncoming),
          heartbeat: async () => {},
          isRunning: () => this.running && this.isCurrent(first),
          resolveOffset: () => {},
          lagAfter: () => undefined,
        });
      }
    }
  }

  /**
   * Queues the offsets and returns: commits go out in the background, coalesced per partition,
   * one request in flight. The client sends OffsetCommit on the connection its long-poll fetch
   * uses, so an awaited commit would wait behind the fetch on every batch. Callers commit only
   * after their outputs are durable, so a commit that never lands means redelivery, not loss;
   * stop() flushes what is queued.
   */
  async commit(offsets: TopicPartitionOffset[]): Promise<void> {
    for (const o of offsets) {
      const native = o.lastMessage?.native as NativeMessage | undefined;
      this.pendingCommits.set(`${o.topic}\u0000${o.partition}`, {
        topic: o.topic, partition: o.partition, offset: BigInt(o.offset), leaderEpoch: native?.leaderEpoch ?? -1,
      });
    }
    this.committing ??= this.flushCommits();
  }

  private async flushCommits(): Promise<void> {
    while (this.pendingCommits.size > 0) {
      const offsets = [...this.pendingCommits.values()];
      this.pendingCommits.clear();
      try {
        await this.consumer.commit({ offsets });
      } catch {
        // Keep the newest offset per partition for the next attempt (unless a newer one is queued).
        for (const o of offsets) {
          const key = `${o.topic}\u0000${o.partition}`;
          if (!this.pendingCommits.has(key)) this.pendingCommits.set(key, o);
        }
        if (!this.running) break;
        await new Promise((resolve) => setTimeout(resolve, 200));
      }
    }
    this.committing = null;
  }

  async stop(): Promise<void> {
    if (!this.running && !this.stream) return;
    this.running = false;
    this.wake?.();
    await this.loop.catch(() => {});
    if (this.pendingCommits.size > 0) this.committing ??= this.flushCommits();
    await this.committing;
    await this.stream?.close().catch(() => {});
    await this.consumer.close(true).catch(() => {});
    this.stream = null;
  }

  assignment(): Array<{ topic: string; partitions: number[] }> {
    return (this.consumer.assignments ?? []).map((a) => ({ topic: a.topic, partitions: [...a.partitions].sort((x, y) => x - y) }));
  }

  joined(): Promise<void> {
    return this.joinedOnce;
  }
}

export function createPlatformaticConsumer(settings: PlatformaticSettings, options: ConsumerOptions): GroupConsumer {
  return new PlatformaticGroupConsumer(settings, options);
}
