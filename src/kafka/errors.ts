// How the messaging core classifies a Kafka client's failure: a record the broker can never take
// is permanent (dead-letter it); anything else is an outage (retry without committing).
import { SentinelError } from '../errors/index.ts';

const PERMANENT_KAFKA_ERRORS = /MESSAGE_TOO_LARGE|RECORD_LIST_TOO_LARGE|INVALID_RECORD|RecordTooLarge|message too large/i;

/** Every message, type and API error id in an error and the errors nested in it (AggregateError, cause). */
function errorTexts(error: unknown, depth = 0): string[] {
  if (error === null || typeof error !== 'object' || depth > 4) return [String(error)];
  const e = error as { type?: string; apiId?: string; message?: string; errors?: unknown[]; cause?: unknown };
  const texts = [e.type ?? '', e.apiId ?? '', e.message ?? ''];
  for (const nested of e.errors ?? []) texts.push(...errorTexts(nested, depth + 1));
  if (e.cause !== undefined) texts.push(...errorTexts(e.cause, depth + 1));
  return texts;
}

/** Kafka client failures: a record the broker can never take is permanent; the rest are outages. */
export function asMessagingError(error: unknown, what: string): SentinelError {
  if (error instanceof SentinelError) return error;
  const texts = errorTexts(error).filter(Boolean);
  const message = [...new Set(texts)].join(': ') || String(error);
  if (PERMANENT_KAFKA_ERRORS.test(texts.join(' '))) {
    return new SentinelError('SNT_SERDE_RECORD_TOO_LARGE', `${what}: ${message}`, { cause: error });
  }
  return new SentinelError('SNT_DEPENDENCY_UNAVAILABLE', `${what}: Kafka: ${message}`, { cause: error });
}
