// The consumer runner every Sentinel consumer is built on. For each batch of one partition:
// decode and validate each record (failures become dead letters, with the original bytes), hand
// the decoded events to the consumer's pure-ish handler, then write its outputs and the dead
// letters durably and only then commit the offsets — atomically in one Kafka transaction in
// 'transactional' mode, or produce-then-commit in 'at-least-once' mode. Outages (transient
// failures) are retried with backoff for as long as they last, committing nothing; a batch that
// fails otherwise is retried record by record so one bad record cannot hold back the others.
import { classifyFailure, SentinelError } from '../errors/index.ts';
import type { EventDefinition } from '../contracts/events.ts';
import { buildMetadata, type EventMetadata } from '../contracts/metadata.ts';
import type { EventCodec } from '../serde/codec.ts';
import { continueTrace, traceHeaders, type TraceContext } from '../observability/trace.ts';
import type { Logger } from '../observability/log.ts';
import { DLQ_HEADERS, EVENT_HEADERS, type DeadLetterStage } from './headers.ts';
import { deterministicUuid } from './ids.ts';
import type { GroupConsumer, IncomingMessage, MessageProducer, OutgoingMessage, PartitionBatch, TransactionalProducer } from './types.ts';

export interface InboundEvent<T = unknown> {
  definition: EventDefinition<T>;
  metadata: EventMetadata;
  data: T;
  message: IncomingMessage;
  schemaId: number;
  /** This hop's span: a child of the span that produced the record. */
  trace: TraceContext;
}

export interface OutboundEvent<T = unknown> {
  definition: EventDefinition<T>;
  data: T;
  key: string;
}

export type HandlerResult =
  | { outputs: OutboundEvent[] }
  | { deadLetter: Error };

export interface BatchContext {
  groupId: string;
  topic: string;
  partition: number;
  /** Keep the group membership alive during long work. */
  heartbeat(): Promise<void>;
}

/** Processes the decoded events of one partition batch; returns one result per event, in order. */
export type BatchHandler = (events: InboundEvent[], context: BatchContext) => Promise<HandlerResult[]>;

export interface RunnerMetrics {
  consumed(topic: string, count: number): void;
  produced(topic: string, count: number): void;
  deadLettered(topic: string, code: string): void;
  retried(failureClass: string): void;
  lag(topic: string, partition: number, lag: number): void;
  batchSeconds(seconds: number): void;
  /** The partitions this instance owns now (sampled every second). */
  assigned?(assignment: Array<{ topic: string; partitions: number[] }>): void;
}

export interface RunnerOptions {
  groupId: string;
  /** Logical topic (as in topics.yaml) → its event definition. */
  subscriptions: ReadonlyArray<EventDefinition<any>>;
  consumer: GroupConsumer;
  codec: EventCodec;
  /** Resolves a logical topic to its physical name (TOPIC_PREFIX). */
  topicName(logical: string): string;
  delivery:
    | { mode: 'transactional'; producer: TransactionalProducer }
    | { mode: 'at-least-once'; producer: MessageProducer };
  handler: BatchHandler;
  producerName: string;
  logger: Logger;
  metrics?: RunnerMetrics;
  clock?: () => number;
  /** Attempts for failures of unknown class before a record is dead-lettered. */
  maxUnknownAttempts?: number;
  backoff?: { initialMs: number; maxMs: number };
  /**
   * Whether the partitions of a combined batch may be handled at the same time (each partition's
   * events still in order, in one handler call). Only for handlers safe under concurrency (the
   * signer locks its decisions in PostgreSQL); the default handles them one after the other.
   */
  concurrentPartitions?: boolean;
  /** Fault injection for tests: runs after outputs are written and before the offset commit. */
  beforeCommit?: (batch: { topic: string; partition: number; outputs: number }) => Promise<void>;
}

class StoppedError extends Error {
  override readonly name = 'StoppedError';
}

function errorCode(error: unknown): string {
  if (error instanceof SentinelError) return error.code;
  return error instanceof Error ? error.name : 'Error';
}

export function deadLetterTopic(logical: string): string {
  return `${logical}.dlq`;
}

export class ConsumerRunner {
  private readonly options: RunnerOptions;
  private readonly clock: () => number;
  private readonly byPhysicalTopic = new Map<string, EventDefinition<any>>();
  private stopping = false;
  private sampler: NodeJS.Timeout | null = null;

  constructor(options: RunnerOptions) {
    this.options = options;
    this.clock = options.clock ?? Date.now;
    for (const definition of options.subscriptions) this.byPhysicalTopic.set(options.topicName(definition.topic), definition);
  }

  start(): Promise<void> {
    const metrics = this.options.metrics;
    if (metrics?.assigned) {
      this.sampler = setInterval(() => metrics.assigned!(this.options.consumer.assignment()), 1000);
      this.sampler.unref();
    }
    const consumer = this.options.consumer;
    if (consumer.runGrouped && this.options.delivery.mode === 'transactional') return consumer.runGrouped((batches) => this.onBatches(batches));
    return consumer.run((batch) => this.onBatch(batch));
  }

  /**
   * The batches of several partitions fetched together: handled one partition after the other,
   * then written and committed in ONE transaction (a transaction per partition costs its round
   * trips on every partition, which dominated latency under load). If anything fails, each
   * partition goes through the one-partition path with its retries and isolation of bad records,
   * reusing what was already prepared.
   */
  private async onBatches(batches: PartitionBatch[]): Promise<void> {
    if (this.stopping) return;
    const live = batches.filter((batch) => batch.isRunning());
    if (live.length <= 1) {
      for (const batch of live) await this.onBatch(batch);
      return;
    }
    const started = performance.now();
    const prepared: Array<{ outgoing: OutgoingMessage[]; outputs: number }> = [];
    try {
      if (this.options.concurrentPartitions) prepared.push(...await Promise.all(live.map((batch) => this.prepare(batch, batch.messages))));
      else for (const batch of live) prepared.push(await this.prepare(batch, batch.messages));
      if (this.stopping || !live.every((batch) => batch.isRunning())) throw new StoppedError('a partition was revoked while its batch was prepared');
      await this.commitTogether(live, prepared);
    } catch (error) {
      if (this.stopping) return; // nothing committed; the next owner starts from the last commit
      if (!(error instanceof StoppedError)) {
        this.options.metrics?.retried(classifyFailure(error));
        this.options.logger.warn({ err: error, partitions: live.length }, 'combined batch failed; retrying partition by partition');
      }
      // Each partition on its own: one that was revoked is skipped, the others are still done.
      for (const [index, batch] of live.entries()) {
        const partitionStarted = performance.now();
        try {
          await this.processWithRetries(batch, batch.messages, prepared[index] ?? null);
        } catch (inner) {
          if (inner instanceof StoppedError) continue;
          throw inner;
        }
        this.options.metrics?.consumed(batch.topic, batch.messages.length);
        this.options.metrics?.batchSeconds((performance.now() - partitionStarted) / 1000);
      }
      return;
    }
    const seconds = (performance.now() - started) / 1000;
    for (const batch of live) {
      this.options.metrics?.consumed(batch.topic, batch.messages.length);
      this.options.metrics?.batchSeconds(seconds / live.length);
    }
  }

  private async commitTogether(batches: PartitionBatch[], prepared: Array<{ outgoing: OutgoingMessage[]; outputs: number }>): Promise<void> {
    const delivery = this.options.delivery;
    if (delivery.mode !== 'transactional') throw new TypeError('partitions are committed together only in transactional mode');
    const offsets = batches.map((batch) => {
      const last = batch.messages[batch.messages.length - 1]!;
      return { topic: batch.topic, partition: batch.partition, offset: (BigInt(last.offset) + 1n).toString(), lastMessage: last };
    });
    const outgoing = prepared.flatMap((p) => p.outgoing);
    const outputs = prepared.reduce((sum, p) => sum + p.outputs, 0);
    const hook = this.options.beforeCommit
      ? () => this.options.beforeCommit!({ topic: batches[0]!.topic, partition: batches[0]!.partition, outputs })
      : undefined;
    await delivery.producer.commitBatch(outgoing, offsets, this.options.groupId, hook);
    for (const batch of batches) for (const m of batch.messages) batch.resolveOffset(m.offset);
    this.countProduced(outgoing);
  }

  private countProduced(outgoing: OutgoingMessage[]): void {
    const counts = new Map<string, number>();
    for (const m of outgoing) counts.set(m.topic, (counts.get(m.topic) ?? 0) + 1);
    for (const [topic, count] of counts) this.options.metrics?.produced(topic, count);
  }

  async stop(): Promise<void> {
    this.stopping = true;
    if (this.sampler) clearInterval(this.sampler);
    await this.options.consumer.stop();
  }

  private async onBatch(batch: PartitionBatch): Promise<void> {
    const started = performance.now();
    try {
      await this.processWithRetries(batch, batch.messages);
    } catch (error) {
      if (error instanceof StoppedError) return; // nothing committed; the next owner starts from the last commit
      throw error;
    }
    this.options.metrics?.consumed(batch.topic, batch.messages.length);
    const lag = batch.lagAfter();
    if (lag !== undefined) this.options.metrics?.lag(batch.topic, batch.partition, lag);
    this.options.metrics?.batchSeconds((performance.now() - started) / 1000);
  }

  private async processWithRetries(batch: PartitionBatch, messages: IncomingMessage[], alreadyPrepared: { outgoing: OutgoingMessage[]; outputs: number } | null = null): Promise<void> {
    const maxUnknown = this.options.maxUnknownAttempts ?? 3;
    let attempt = 0;
    let unknownAttempts = 0;
    let prepared = alreadyPrepared;
    for (;;) {
      if (this.stopping || !batch.isRunning()) throw new StoppedError('consumer stopping');
      try {
        prepared ??= await this.prepare(batch, messages);
        await this.commit(batch, messages, prepared);
        return;
      } catch (error) {
        if (error instanceof StoppedError) throw error;
        const failureClass = classifyFailure(error);
        this.options.metrics?.retried(failureClass);
        if (failureClass === 'transient') {
          this.options.logger.warn({ err: error, topic: batch.topic, partition: batch.partition, attempt }, 'dependency unavailable; retrying batch without committing');
          await this.backoff(batch, attempt++);
          continue;
        }
        if (failureClass === 'unknown' && ++unknownAttempts < maxUnknown) {
          this.options.logger.warn({ err: error, topic: batch.topic, partition: batch.partition, attempt: unknownAttempts }, 'batch failed; retrying');
          await this.backoff(batch, attempt++);
          prepared = null;
          continue;
        }
        if (messages.length > 1) {
          // Isolate the record that fails: one by one, each committed on its own.
          for (const message of messages) await this.processWithRetries(batch, [message]);
          return;
        }
        this.options.logger.error({ err: error, topic: batch.topic, partition: batch.partition, offset: messages[0]!.offset }, 'record failed; dead-lettering it');
        prepared = { outgoing: [this.deadLetter(messages[0]!, error, 'handle', unknownAttempts)], outputs: 0 };
        this.options.metrics?.deadLettered(batch.topic, errorCode(error));
        unknownAttempts = 0;
      }
    }
  }

  private async backoff(batch: PartitionBatch, attempt: number): Promise<void> {
    const { initialMs, maxMs } = this.options.backoff ?? { initialMs: 200, maxMs: 5000 };
    const delay = Math.min(maxMs, initialMs * 2 ** Math.min(attempt, 16)) * (0.5 + Math.random() / 2);
    const until = Date.now() + delay;
    while (Date.now() < until) {
      if (this.stopping || !batch.isRunning()) throw new StoppedError('consumer stopping');
      await batch.heartbeat();
      await new Promise((resolve) => setTimeout(resolve, Math.min(500, until - Date.now())));
    }
  }

  /** Decodes, validates and handles the records; returns the messages to write (outputs and dead letters). */
  private async prepare(batch: PartitionBatch, messages: IncomingMessage[]): Promise<{ outgoing: OutgoingMessage[]; outputs: number }> {
    const definition = this.byPhysicalTopic.get(batch.topic);
    if (!definition) throw new TypeError(`no subscription for topic ${batch.topic}`);
    const outgoing: OutgoingMessage[] = [];
    const events: InboundEvent[] = [];
    for (const message of messages) {
      const decoded = await this.decode(definition, message);
      if ('failure' in decoded) {
        outgoing.push(this.deadLetter(message, decoded.failure, decoded.stage, 1));
        this.options.metrics?.deadLettered(batch.topic, errorCode(decoded.failure));
      } else {
        events.push(decoded.event);
      }
    }
    let outputs = 0;
    if (events.length > 0) {
      const results = await this.options.handler(events, {
        groupId: this.options.groupId, topic: batch.topic, partition: batch.partition, heartbeat: batch.heartbeat,
      });
      if (results.length !== events.length) throw new TypeError(`handler returned ${results.length} results for ${events.length} events`);
      const traceEach = this.options.logger.isLevelEnabled('debug');
      results.forEach((result, index) => {
        const event = events[index]!;
        if ('deadLetter' in result) {
          outgoing.push(this.deadLetter(event.message, result.deadLetter, 'handle', 1));
          this.options.metrics?.deadLettered(batch.topic, errorCode(result.deadLetter));
          this.options.logger.warn({ traceId: event.trace.traceId, spanId: event.trace.spanId, topic: batch.topic, offset: event.message.offset, code: errorCode(result.deadLetter) }, 'record dead-lettered by the handler');
          return;
        }
        result.outputs.forEach((output, n) => outgoing.push(this.encodeOutput(event, output, n)));
        outputs += result.outputs.length;
        if (traceEach) {
          this.options.logger.debug({
            traceId: event.trace.traceId, spanId: event.trace.spanId, parentSpanId: event.trace.parentSpanId,
            groupId: this.options.groupId, topic: batch.topic, partition: batch.partition, offset: event.message.offset, eventId: event.metadata.eventId,
            eventType: event.definition.eventType, outputs: result.outputs.map((o) => o.definition.eventType),
          }, 'event handled');
        }
      });
    }
    return { outgoing, outputs };
  }

  private async decode(definition: EventDefinition<any>, message: IncomingMessage):
    Promise<{ event: InboundEvent } | { failure: Error; stage: DeadLetterStage }> {
    if (message.value === null) {
      return { failure: new SentinelError('SNT_SERDE_TRUNCATED', 'record has no value (tombstone) on a non-compacted topic'), stage: 'decode' };
    }
    let decoded: { schemaId: number; value: Record<string, unknown> };
    try {
      decoded = await this.options.codec.decode<Record<string, unknown>>(message.topic, message.value);
    } catch (error) {
      if (classifyFailure(error) === 'transient') throw error; // registry down: retry, don't dead-letter
      return { failure: error as Error, stage: 'decode' };
    }
    try {
      const { metadata, data } = definition.fromAvro(decoded.value);
      // The record's headers carry its span; a record without them continues the trace in its metadata.
      const fromHeaders = continueTrace((name) => message.headers[name]);
      const trace: TraceContext = fromHeaders.parentSpanId
        ? fromHeaders
        : { ...fromHeaders, traceId: metadata.traceId, parentSpanId: metadata.spanId };
      return { event: { definition, metadata, data, message, schemaId: decoded.schemaId, trace } };
    } catch (error) {
      return { failure: error as Error, stage: 'validate' };
    }
  }

  private encodeOutput(cause: InboundEvent, output: OutboundEvent, index: number): OutgoingMessage {
    const definition = output.definition;
    const eventId = deterministicUuid(cause.metadata.eventId, definition.eventType, definition.idOf(output.data), String(index));
    const trace = cause.trace;
    const metadata = buildMetadata({
      eventId,
      eventType: definition.eventType,
      schemaVersion: definition.schemaVersion,
      producer: this.options.producerName,
      now: this.clock(),
      trace,
      causationId: cause.metadata.eventId,
      correlationId: definition.correlationOf(output.data),
    });
    const topic = this.options.topicName(definition.topic);
    return {
      topic,
      key: output.key,
      value: this.options.codec.encode(topic, definition.toAvro({ metadata, data: output.data })),
      headers: {
        ...traceHeaders(trace),
        [EVENT_HEADERS.eventId]: eventId,
        [EVENT_HEADERS.eventType]: definition.eventType,
        [EVENT_HEADERS.causationId]: cause.metadata.eventId,
      },
    };
  }

  private deadLetter(message: IncomingMessage, error: unknown, stage: DeadLetterStage, attempts: number): OutgoingMessage {
    const definition = this.byPhysicalTopic.get(message.topic);
    const logical = definition?.topic ?? message.topic;
    const text = error instanceof Error ? error.message : String(error);
    return {
      topic: this.options.topicName(deadLetterTopic(logical)),
      key: message.key === null ? null : message.key.toString('utf8'),
      value: message.value ?? Buffer.alloc(0),
      headers: {
        ...message.headers,
        [DLQ_HEADERS.errorCode]: errorCode(error),
        [DLQ_HEADERS.errorMessage]: text.slice(0, 2000),
        [DLQ_HEADERS.stage]: stage,
        [DLQ_HEADERS.sourceTopic]: message.topic,
        [DLQ_HEADERS.sourcePartition]: String(message.partition),
        [DLQ_HEADERS.sourceOffset]: message.offset,
        [DLQ_HEADERS.consumerGroup]: this.options.groupId,
        [DLQ_HEADERS.failedAt]: new Date(this.clock()).toISOString(),
        [DLQ_HEADERS.attempts]: String(attempts),
      },
    };
  }

  private async commit(batch: PartitionBatch, messages: IncomingMessage[], prepared: { outgoing: OutgoingMessage[]; outputs: number }): Promise<void> {
    const last = messages[messages.length - 1]!;
    const offsets = [{ topic: batch.topic, partition: batch.partition, offset: (BigInt(last.offset) + 1n).toString(), lastMessage: last }];
    const hook = this.options.beforeCommit
      ? () => this.options.beforeCommit!({ topic: batch.topic, partition: batch.partition, outputs: prepared.outputs })
      : undefined;
    const delivery = this.options.delivery;
    if (delivery.mode === 'transactional') {
      await delivery.producer.commitBatch(prepared.outgoing, offsets, this.options.groupId, hook);
    } else {
      await delivery.producer.send(prepared.outgoing);
      if (hook) await hook();
      await this.options.consumer.commit(offsets);
    }
    for (const m of messages) batch.resolveOffset(m.offset);
    this.countProduced(prepared.outgoing);
  }
}
