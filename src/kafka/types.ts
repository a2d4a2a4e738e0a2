// The project's own small messaging interface. Only src/kafka/kafkajs.ts implements it with a
// concrete client, so the client can be swapped without touching producers or consumers.

export interface OutgoingMessage {
  topic: string;
  key: string | null;
  value: Buffer;
  headers: Record<string, string>;
}

export interface IncomingMessage {
  topic: string;
  partition: number;
  /** Kafka offset as a decimal string (offsets can exceed 2^53). */
  offset: string;
  key: Buffer | null;
  value: Buffer | null;
  headers: Record<string, string>;
  /** Broker or producer timestamp, epoch ms. */
  timestamp: number;
  /** The client's own message object, for adapters that need it (e.g. transactional offsets). */
  native?: unknown;
}

export interface PartitionBatch {
  topic: string;
  partition: number;
  messages: IncomingMessage[];
  /** Keeps group membership alive during long work; throws if the group is rebalancing. */
  heartbeat(): Promise<void>;
  /** False once the consumer is stopping. */
  isRunning(): boolean;
  /** Marks an offset as processed so the next fetch starts after it (does not commit). */
  resolveOffset(offset: string): void;
  /** High watermark minus the last offset of this batch, when the client reports it. */
  lagAfter(): number | undefined;
}

export interface TopicPartitionOffset {
  topic: string;
  partition: number;
  /** The next offset to read (last processed + 1). */
  offset: string;
  /** The last processed message as the client delivered it (IncomingMessage.native). */
  lastMessage?: IncomingMessage;
}

/** An acks=all, idempotent producer. `send` resolves once every message is durably written. */
export interface MessageProducer {
  send(messages: OutgoingMessage[]): Promise<void>;
  close(): Promise<void>;
}

/**
 * A transactional producer for consume-process-produce: outputs and the consumed offsets are
 * committed atomically; readers with read_committed isolation never see aborted outputs.
 */
export interface TransactionalProducer {
  commitBatch(messages: OutgoingMessage[], offsets: TopicPartitionOffset[], groupId: string, beforeCommit?: () => Promise<void>): Promise<void>;
  close(): Promise<void>;
}

export interface GroupConsumer {
  /** Starts fetching; `onBatch` is called for one partition's batch at a time, in offset order. */
  run(onBatch: (batch: PartitionBatch) => Promise<void>): Promise<void>;
  /**
   * Like run, but hands over the batches of every partition fetched together (each in offset
   * order, one batch per partition), so that a transactional consumer can commit them at once.
   */
  runGrouped?(onBatches: (batches: PartitionBatch[]) => Promise<void>): Promise<void>;
  /** Commits offsets after their outputs are durable; an adapter may complete it in the background (see stop). */
  commit(offsets: TopicPartitionOffset[]): Promise<void>;
  /** Finishes the batch in progress, flushes queued commits, and leaves the group. */
  stop(): Promise<void>;
  /** Current partition assignment, for metrics and tests. */
  assignment(): Array<{ topic: string; partitions: number[] }>;
  /** Resolves once the consumer has joined its group (and received an assignment). */
  joined(): Promise<void>;
}

export interface TopicSpecActual {
  name: string;
  partitions: number;
  replication: number;
  config: Record<string, string>;
}

export interface MessagingAdmin {
  listTopics(): Promise<string[]>;
  describeTopics(names: string[], configKeys: string[]): Promise<TopicSpecActual[]>;
  createTopic(spec: { name: string; partitions: number; replication: number; config: Record<string, string> }): Promise<void>;
  addPartitions(name: string, total: number): Promise<void>;
  alterConfig(name: string, config: Record<string, string>): Promise<void>;
  deleteTopics(names: string[]): Promise<void>;
  /** Deletes consumer groups that have no members (e.g. a per-instance reader's group after it left). */
  deleteGroups?(groupIds: string[]): Promise<void>;
  /** Committed offsets and lag of a group per partition. */
  groupLag(groupId: string, topics: string[]): Promise<Array<{ topic: string; partition: number; committed: string; high: string; lag: number }>>;
  ping(): Promise<void>;
  close(): Promise<void>;
}
