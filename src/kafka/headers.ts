// Kafka header names beyond the trace headers (src/observability/trace.ts): one table.
export const EVENT_HEADERS = {
  eventId: 'x-event-id',
  eventType: 'x-event-type',
  causationId: 'x-causation-id',
} as const;

/** Headers on a dead letter; the original record's headers and bytes are kept as they were. */
export const DLQ_HEADERS = {
  errorCode: 'x-dlq-error-code',
  errorMessage: 'x-dlq-error-message',
  stage: 'x-dlq-stage',
  sourceTopic: 'x-dlq-source-topic',
  sourcePartition: 'x-dlq-source-partition',
  sourceOffset: 'x-dlq-source-offset',
  consumerGroup: 'x-dlq-consumer-group',
  failedAt: 'x-dlq-failed-at',
  attempts: 'x-dlq-attempts',
} as const;

export type DeadLetterStage = 'decode' | 'validate' | 'handle';
