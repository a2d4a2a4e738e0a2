import type { TraceContext } from '../observability/trace.ts';

/** The metadata record every event carries (schemas/avro/common/EventMetadata.avsc). */
export interface EventMetadata {
  eventId: string;
  eventType: string;
  occurredAt: number;
  producer: string;
  schemaVersion: number;
  traceId: string;
  spanId: string;
  parentSpanId: string | null;
  causationId: string | null;
  correlationId: string;
}

export function buildMetadata(input: {
  eventId: string;
  eventType: string;
  schemaVersion: number;
  producer: string;
  now: number;
  trace: TraceContext;
  causationId: string | null;
  correlationId: string;
}): EventMetadata {
  return {
    eventId: input.eventId,
    eventType: input.eventType,
    occurredAt: input.now,
    producer: input.producer,
    schemaVersion: input.schemaVersion,
    traceId: input.trace.traceId,
    spanId: input.trace.spanId,
    parentSpanId: input.trace.parentSpanId,
    causationId: input.causationId,
    correlationId: input.correlationId,
  };
}
