// Messaging adapter on @platformatic/kafka: the default client (see docs/messaging.md for the
// measurements behind the choice). Implements the same interface as the kafkajs adapter.
// Transactional commits go through TxnOffsetCommit with the group's generation and member id
// (KIP-447), so a consumer that lost its partitions in a rebalance cannot commit a stale batch.
import {
  Admin, Consumer, FetchIsolationLevels, ProduceAcks, Producer, compatibilityPartitioner,
  type Message,
} from '@platformatic/kafka';
import { BatchingProducer } from './batching.ts';
import type { Logger } from '../observability/log.ts';
import { asMessagingError } from './errors.ts';
import { chunkBySize, MAX_REQUEST_BYTES } from './limits.ts';
import type {
  GroupConsumer, IncomingMessage, MessageProducer, OutgoingMessage, PartitionBatch, TopicPartitionOffset, TransactionalProducer,
} from './types.ts';
import type { ConsumerOptions } from './kafkajs.ts';

export interface PlatformaticSettings { brokers: string[]; clientId: string; timeoutMs?: number; logger?: Logger }

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
  let producer = new Producer(producerOptions(settings, 'producer'));
  return new BatchingProducer(
    async (messages) => {
      try {
        await producer.send({ messages: toRecords(messages) });
      } catch (error) {
        // A failed idempotent send can leave sequence numbers out of step with the broker:
        // continue with a new producer (new producer id) rather than a wedged one.
        const old = producer;
        producer = new Producer(producerOptions(settings, 'producer'));
        void old.close(true).catch(() => {});
        throw asMessagingError(error, 'produce failed');
      }
    },
    () => producer.close().catch(() => {}),
    options.maxBatch,
  );
}

class PlatformaticTransactionalProducer implements TransactionalProducer {
  private producer: Producer<Buffer, Buffer, Buffer, Buffer>;
  private readonly create: () => Producer<Buffer, Buffer, Buffer, Buffer>;
  private readonly logger: Logger | undefined;
  private readonly transactionalId: string;
  constructor(settings: PlatformaticSettings, transactionalId: string) {
    this.logger = settings.logger;
    this.transactionalId = transactionalId;
    // KIP-360: a producer without state must ask for an id with -1/-1. The client's default of 0/0
    // makes the broker refuse a restarted instance (same transactional id) as fenced.
    // The client uses `timeout` as the transaction timeout too: an instance that dies mid-transaction
    // holds back read_committed readers of those partitions for at most this long.
    this.create = () => new Producer<Buffer, Buffer, Buffer, Buffer>({ ...producerOptions(settings, 'tx'), timeout: 10_000, transactionalId, producerId: -1n, producerEpoch: -1 });
    this.producer = this.create();
  }

  /**
   * After a transaction that failed, the broker may still hold it open (a new transaction on the
   * same producer would join it) and the client's sequence numbers may be out of step. A new
   * producer initialises anew, which bumps the epoch and aborts whatever the old one left open.
   */
  private async replace(): Promise<void> {
    const old = this.producer;
    this.producer = this.create();
    await old.close(true).catch(() => {});
  }

  async commitBatch(messages: OutgoingMessage[], offsets: TopicPartitionOffset[], groupId: string, beforeCommit?: () => Promise<void>): Promise<void> {
    let transaction;
    try {
      transaction = await this.producer.beginTransaction();
    } catch (error) {
      // A failed begin (e.g. CONCURRENT_TRANSACTIONS while the broker aborts a fenced
      // transaction) leaves the client holding it as active; start over with a new producer.
      await this.replace();
      throw asMessagingError(error, 'cannot begin transaction');
    }
    try {
      // One request per chunk: a batch's outputs can exceed what the broker takes in one request.
      for (const chunk of chunkBySize(messages, MAX_REQUEST_BYTES)) await transaction.send({ messages: toRecords(chunk) });
      await transaction.addConsumer({ groupId } as unknown as Consumer);
      for (const offset of offsets) {
        const native = offset.lastMessage?.native as NativeMessage | undefined;
        if (!native) throw new TypeError('platformatic transactions need the consumed message (IncomingMessage.native)');
        await transaction.addOffset(native);
      }
      if (beforeCommit) await beforeCommit();
      await transaction.commit();
      if (this.logger?.isLevelEnabled('debug')) {
        const committed = offsets.map((o) => {
          const stamped = ((o.lastMessage?.native as NativeMessage | undefined)?.metadata as { consumer?: { generationId?: number } } | undefined)?.consumer;
          return `${o.topic}/${o.partition}@${o.offset} (generation ${stamped?.generationId})`;
        });
        this.logger.debug({ transactionalId: this.transactionalId, groupId, outputs: messages.length, committed }, 'transaction committed');
      }
    } catch (error) {
      // Whatever failed, the producer's idempotence state (sequence numbers, epoch) may no longer
      // match the broker's after a partial produce; a new producer re-initialises and bumps the
      // epoch, which also aborts the transaction if the abort below cannot.
      await transaction.abort().catch(() => {});
      await this.replace();
      throw asMessagingError(error, 'transaction failed');
    }
  }

  async close(): Promise<void> {
    await this.producer.close().catch(() => {});
  }
}

export function createPlatformaticTransactionalProducer(settings: PlatformaticSettings, transactionalId: string): TransactionalProducer {
  return new PlatformaticTransactionalProducer(settings, transactionalId);
}

/**
 * The client stamps each record with the group's generation, member id and coordinator as they
 * were when it was fetched; a transactional offset commit is sent to that coordinator. A record
 * fetched while the client had lost its coordinator (after a network cut) carries none, and every
 * retry of its batch would fail the same way. The generation and member id stay as stamped (they
 * fence a stale batch); the coordinator is read when the commit is made.
 */
function withLiveCoordinator(m: NativeMessage, coordinator: () => number | null | undefined): NativeMessage {
  const stamped = (m.metadata as { consumer?: Record<string, unknown> } | undefined)?.consumer;
  if (!stamped) return m;
  const consumer = { ...stamped };
  Object.defineProperty(consumer, 'coordinatorId', { enumerable: true, get: () => coordinator() ?? stamped.coordinatorId });
  return Object.assign(Object.create(Object.getPrototypeOf(m) as object) as NativeMessage, m, { metadata: { ...m.metadata, consumer } });
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
 *
 * After every group join the stream restarts each partition from its committed offset, which the
 * client reads without `require_stable`: if a transaction that commits offsets for that partition
 * is still pending (ours or a previous owner's), it gets the offset from before that transaction
 * and would redeliver records whose outputs are already committed. So after each join the adapter
 * reads the committed offsets itself with require_stable (KIP-447: the broker answers
 * UNSTABLE_OFFSET_COMMIT until pending transactions end), holds processing until it has them, and
 * drops records below them.
 */
class PlatformaticGroupConsumer implements GroupConsumer {
  private consumer: Consumer<Buffer, Buffer, Buffer, Buffer>;
  private readonly settings: PlatformaticSettings;
  /** Set when the stream failed or ended while running: the client is rebuilt before going on. */
  private broken: unknown = null;
  private stopped = false;
  private readonly options: ConsumerOptions;
  private readonly maxBuffered = 5000;
  private buffer: NativeMessage[] = [];
  private wake: (() => void) | null = null;
  private running = false;
  private generation = -1;
  /** Per partition, the offset after the last record handed to the handler in this generation. */
  private readonly handedOver = new Map<string, bigint>();
  /** Per partition, the highest offset the client has delivered to us (in any generation). */
  private readonly lastSeen = new Map<string, bigint>();
  /** lastSeen as it stood when the current generation began; partitions checked since. */
  private seenAtJoin = new Map<string, bigint>();
  private readonly checkedSinceJoin = new Set<string>();
  private readonly rebuiltFor = new Set<string>();
  private stream: Awaited<ReturnType<Consumer<Buffer, Buffer, Buffer, Buffer>['consume']>> | null = null;
  private loop: Promise<void> = Promise.resolve();
  private joinedOnce: Promise<void>;
  private markJoined: () => void = () => {};
  private readonly pendingCommits = new Map<string, { topic: string; partition: number; offset: bigint; leaderEpoch: number }>();
  private committing: Promise<void> | null = null;
  private readonly admin: Admin;
  /** Stable committed offsets of the current generation's partitions: records below them are done. */
  private floors = new Map<string, bigint>();
  private floorsReady: Promise<void> = Promise.resolve();

  constructor(settings: PlatformaticSettings, options: ConsumerOptions) {
    this.options = options;
    this.settings = settings;
    this.admin = new Admin({ clientId: `${settings.clientId}-offsets`, bootstrapBrokers: settings.brokers, timeout: settings.timeoutMs ?? 30_000 });
    this.joinedOnce = new Promise((resolve) => { this.markJoined = resolve; });
    this.consumer = this.createClient();
  }

  private createClient(): Consumer<Buffer, Buffer, Buffer, Buffer> {
    const { settings, options } = this;
    const consumer = new Consumer<Buffer, Buffer, Buffer, Buffer>({
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
    consumer.on('consumer:group:join', (payload: { generationId?: number; assignments?: Array<{ topic: string; partitions: number[] }> }) => {
      if (consumer !== this.consumer) return;
      this.generation = payload.generationId ?? this.generation;
      this.handedOver.clear();
      this.seenAtJoin = new Map(this.lastSeen);
      this.checkedSinceJoin.clear();
      this.buffer = this.buffer.filter((m) => this.isCurrent(m));
      this.floorsReady = this.loadStableFloors(payload.assignments ?? [], this.generation);
      this.settings.logger?.info({ groupId: options.groupId, generation: this.generation, assignments: payload.assignments ?? [] }, 'consumer group joined');
      this.markJoined();
    });
    return consumer;
  }

  private async openStream(): Promise<void> {
    const stream = await this.consumer.consume({
      topics: this.options.topics,
      mode: 'committed',
      fallbackMode: this.options.fromBeginning === false ? 'latest' : 'earliest',
      autocommit: false,
    });
    this.stream = stream;
    stream.on('data', (message: NativeMessage) => {
      if (stream !== this.stream) return;
      this.buffer.push(message);
      const seenKey = `${message.topic}\u0000${message.partition}`;
      const seen = this.lastSeen.get(seenKey);
      if (seen === undefined || message.offset > seen) this.lastSeen.set(seenKey, message.offset);
      if (this.buffer.length >= this.maxBuffered) stream.pause();
      this.wake?.();
    });
    // After a broker restart or a long network cut the client may give up and end the stream;
    // records would then silently stop. Rebuild instead (see process()).
    const fail = (error: unknown) => {
      if (stream !== this.stream || !this.running) return;
      this.broken = error ?? new Error('the message stream ended');
      this.wake?.();
    };
    stream.on('error', fail);
    stream.on('close', () => fail(null));
  }

  /** Closes the failed client and stream and opens new ones; the group join re-reads stable offsets. */
  private async rebuild(): Promise<void> {
    const oldStream = this.stream;
    const oldConsumer = this.consumer;
    this.stream = null;
    this.broken = null;
    this.buffer = [];
    await oldStream?.close().catch(() => {});
    await oldConsumer.close(true).catch(() => {});
    for (let attempt = 0; this.running; attempt++) {
      await new Promise((resolve) => setTimeout(resolve, Math.min(5000, 500 * 2 ** attempt)));
      try {
        this.consumer = this.createClient();
        await this.openStream();
        return;
      } catch (error) {
        await this.consumer.close(true).catch(() => {});
        void error;
      }
    }
  }

  /**
   * Reads the stable committed offsets of a generation's assignment. They replace the floors only
   * when complete and only if no newer join happened meanwhile, so records are never filtered with
   * a half-loaded or another generation's floors. It never gives up while running: a consumer that
   * stopped over a long outage would stop its service.
   */
  private async loadStableFloors(assignments: Array<{ topic: string; partitions: number[] }>, generation: number): Promise<void> {
    const topics = assignments.filter((a) => a.partitions.length > 0).map((a) => ({ name: a.topic, partitionIndexes: a.partitions }));
    const floors = new Map<string, bigint>();
    const since = Date.now();
    let warned = false;
    while (topics.length > 0 && !this.stopped && (this.running || this.stream === null) && this.generation === generation) {
      try {
        const groups = await this.admin.listConsumerGroupOffsets({ groups: [{ groupId: this.options.groupId, topics }], requireStable: true });
        for (const topic of groups[0]?.topics ?? []) {
          for (const p of topic.partitions) if (p.committedOffset >= 0n) floors.set(`${topic.name}\u0000${p.partitionIndex}`, p.committedOffset);
        }
        break;
      } catch (error) {
        // UNSTABLE_OFFSET_COMMIT while a transaction is pending (or an outage): wait and ask again.
        if (!warned && Date.now() - since > 60_000) {
          warned = true;
          process.emitWarning(`committed offsets of group ${this.options.groupId} still unavailable after 60 s: ${asMessagingError(error, 'offset fetch').message}`, { code: 'SENTINEL_OFFSETS_UNSTABLE' });
        }
        await new Promise((resolve) => setTimeout(resolve, 200));
      }
    }
    if (this.generation === generation) {
      this.floors = floors;
      this.settings.logger?.debug({ groupId: this.options.groupId, generation, floors: Object.fromEntries([...floors].map(([k, v]) => [k.replace('\u0000', '/'), v.toString()])) }, 'stable committed offsets loaded');
    }
  }

  /**
   * A fetch answered after a rebalance can move the client's position past records this member
   * saw but never committed (its in-flight fetch overrides the offsets re-read at the join), so
   * they would never come again. Every record at or above the stable committed offset that we
   * had seen is uncommitted and must be delivered again: the first record of a partition in a new
   * generation may not lie beyond the last one seen before it. Otherwise the client is rebuilt,
   * which re-reads the committed offsets on a fresh connection.
   */
  private skippedAfterJoin(byPartition: Map<string, NativeMessage[]>): string | null {
    for (const [key, messages] of byPartition) {
      if (this.checkedSinceJoin.has(key) || messages.length === 0) continue;
      const seen = this.seenAtJoin.get(key);
      const floor = this.floors.get(key);
      const first = messages[0]!.offset;
      // Once per partition and position: records can also be gone for good (retention), and a
      // rebuilt client that resumes at the same place again is believed.
      const once = `${key}@${seen}`;
      if (seen !== undefined && (floor === undefined || seen >= floor) && first > seen && !this.rebuiltFor.has(once)) {
        this.rebuiltFor.add(once);
        return `the client resumed ${key.replace('\u0000', '/')} at offset ${first}, past uncommitted records (up to ${seen}); rebuilding`;
      }
      this.checkedSinceJoin.add(key);
    }
    return null;
  }

  /**
   * Whether a message may still be processed by this member: it belongs to the current group
   * generation AND its partition is assigned to us now. The generation alone is not enough: the
   * client stamps a fetch answered after a rebalance with the new generation even when the
   * partition went to another member, and the coordinator does not check ownership on commit.
   */
  private isCurrent(m: NativeMessage): boolean {
    const generation = (m.metadata as { consumer?: { generationId?: number } }).consumer?.generationId;
    if (generation !== undefined && generation !== this.generation) return false;
    return this.owns(m.topic, m.partition);
  }

  private owns(topic: string, partition: number): boolean {
    return (this.consumer.assignments ?? []).some((a) => a.topic === topic && a.partitions.includes(partition));
  }

  async run(onBatch: (batch: PartitionBatch) => Promise<void>): Promise<void> {
    await this.runGrouped(async (batches) => { for (const batch of batches) await onBatch(batch); });
  }

  async runGrouped(onBatches: (batches: PartitionBatch[]) => Promise<void>): Promise<void> {
    this.running = true;
    try {
      await this.openStream();
    } catch (error) {
      // A broker that is slow or briefly unreachable at start-up: the loop rebuilds and retries
      // (a reader that silently never started would wait forever for records).
      this.broken = error ?? new Error('cannot open the message stream');
    }
    this.loop = this.process(onBatches);
    await this.loop;
  }

  private async process(onBatches: (batches: PartitionBatch[]) => Promise<void>): Promise<void> {
    while (this.running) {
      if (this.broken !== null) {
        await this.rebuild();
        continue;
      }
      if (this.buffer.length === 0) {
        await new Promise<void>((resolve) => { this.wake = resolve; });
        this.wake = null;
        continue;
      }
      // The floors of the generation now current (a join during the wait starts another load).
      for (let ready = this.floorsReady; ; ready = this.floorsReady) {
        await ready;
        if (ready === this.floorsReady) break;
      }
      if (this.broken !== null || !this.running) continue;
      const taken = this.buffer;
      this.buffer = [];
      if (this.stream?.isPaused()) this.stream.resume();
      const byPartition = new Map<string, NativeMessage[]>();
      for (const m of taken) {
        if (!this.isCurrent(m)) continue;
        const key = `${m.topic}\u0000${m.partition}`;
        const floor = this.floors.get(key);
        if (floor !== undefined && m.offset < floor) continue; // already processed and committed
        // The client may fetch a range again (after a rebalance or a reconnect) and hand over
        // records it already gave: each offset goes to the handler once per generation.
        const handed = this.handedOver.get(key);
        if (handed !== undefined && m.offset < handed) continue;
        let list = byPartition.get(key);
        if (!list) byPartition.set(key, (list = []));
        list.push(m);
      }
      for (const [key, list] of byPartition) {
        list.sort((x, y) => (x.offset < y.offset ? -1 : x.offset > y.offset ? 1 : 0));
        byPartition.set(key, list.filter((m, i) => i === 0 || m.offset !== list[i - 1]!.offset));
      }
      const gap = this.skippedAfterJoin(byPartition);
      if (gap !== null) {
        process.emitWarning(gap, { code: 'SENTINEL_CONSUMER_REBUILD' });
        this.settings.logger?.warn({ groupId: this.options.groupId, generation: this.generation }, gap);
        this.broken = new Error(gap);
        continue;
      }
      if (!this.running) return;
      const generation = this.generation;
      const batches: PartitionBatch[] = [];
      const handed: Array<[string, NativeMessage]> = [];
      for (const [key, messages] of byPartition) {
        const first = messages[0]!;
        if (!this.isCurrent(first)) continue;
        batches.push({
          topic: first.topic,
          partition: first.partition,
          messages: messages.map((m) => toIncoming(withLiveCoordinator(m, () => this.consumer.coordinatorId))),
          heartbeat: async () => {},
          isRunning: () => this.running && this.isCurrent(first),
          resolveOffset: () => {},
          lagAfter: () => undefined,
        });
        handed.push([key, messages[messages.length - 1]!]);
      }
      if (batches.length === 0) continue;
      await onBatches(batches);
      for (const [key, last] of handed) {
        if (this.generation === generation && this.isCurrent(last)) this.handedOver.set(key, last.offset + 1n);
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
    // Closing the client while it is still joining its group fails inside the client; let the
    // join finish first (bounded), then leave the group properly.
    await Promise.race([this.joinedOnce, new Promise((resolve) => setTimeout(resolve, 10_000).unref())]);
    this.running = false;
    this.stopped = true;
    this.wake?.();
    // Every step is bounded: a client caught mid-rebuild or mid-join must not hold a shutdown forever.
    const bounded = (work: Promise<unknown> | null | undefined, ms = 15_000) =>
      Promise.race([Promise.resolve(work).catch(() => {}), new Promise((resolve) => setTimeout(resolve, ms).unref())]);
    await bounded(this.loop);
    if (this.pendingCommits.size > 0) this.committing ??= this.flushCommits();
    await bounded(this.committing);
    await bounded(this.stream?.close());
    await bounded(this.consumer.close(true));
    await bounded(this.admin.close());
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
