// Publishes events that start a flow or happen outside a consumer batch (HTTP ingress, approver
// answers, key publication): builds the metadata and trace headers, encodes, and sends through
// the batching idempotent producer. Resolves once the record is durably written.
import type { EventDefinition } from '../contracts/events.ts';
import { buildMetadata } from '../contracts/metadata.ts';
import type { EventCodec } from '../serde/codec.ts';
import { traceHeaders, type TraceContext } from '../observability/trace.ts';
import { EVENT_HEADERS } from './headers.ts';
import { newUuid } from './ids.ts';
import type { MessageProducer, OutgoingMessage } from './types.ts';

export interface PublishOptions {
  key: string;
  trace: TraceContext;
  causationId?: string | null;
  /** Give a deterministic id to make a retried publish recognisable downstream. */
  eventId?: string;
}

export class EventPublisher {
  private readonly producer: MessageProducer;
  private readonly codec: EventCodec;
  private readonly topicName: (logical: string) => string;
  private readonly producerName: string;
  private readonly clock: () => number;

  constructor(options: {
    producer: MessageProducer; codec: EventCodec; topicName: (logical: string) => string; producerName: string; clock?: () => number;
  }) {
    this.producer = options.producer;
    this.codec = options.codec;
    this.topicName = options.topicName;
    this.producerName = options.producerName;
    this.clock = options.clock ?? Date.now;
  }

  encode<T>(definition: EventDefinition<T>, data: T, options: PublishOptions): OutgoingMessage {
    const eventId = options.eventId ?? newUuid();
    const metadata = buildMetadata({
      eventId,
      eventType: definition.eventType,
      schemaVersion: definition.schemaVersion,
      producer: this.producerName,
      now: this.clock(),
      trace: options.trace,
      causationId: options.causationId ?? null,
      correlationId: definition.correlationOf(data),
    });
    const topic = this.topicName(definition.topic);
    const headers: Record<string, string> = {
      ...traceHeaders(options.trace),
      [EVENT_HEADERS.eventId]: eventId,
      [EVENT_HEADERS.eventType]: definition.eventType,
    };
    if (options.causationId) headers[EVENT_HEADERS.causationId] = options.causationId;
    return { topic, key: options.key, value: this.codec.encode(topic, definition.toAvro({ metadata, data })), headers };
  }

  async publish<T>(definition: EventDefinition<T>, data: T, options: PublishOptions): Promise<{ eventId: string; topic: string }> {
    const message = this.encode(definition, data, options);
    await this.producer.send([message]);
    return { eventId: message.headers[EVENT_HEADERS.eventId]!, topic: message.topic };
  }
}
