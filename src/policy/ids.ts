// Decision ids derived from intent ids, so that an intent redelivered by Kafka gets the same
// decision id and recording it again is a no-op (see ContextStore.record).
import { createHash } from 'node:crypto';

/** A UUID (version 8, RFC 9562 "custom") computed from the intent id. Pure. */
export function deriveDecisionId(intentId: string): string {
  return uuidFromName(`aureus-sentinel/decision/${intentId}`);
}

/** UUIDv8 from SHA-256 of `name`: stable, and accepted wherever a UUID is (e.g. Qdrant point ids). */
export function uuidFromName(name: string): string {
  const bytes = createHash('sha256').update(name, 'utf8').digest().subarray(0, 16);
  bytes[6] = (bytes[6]! & 0x0f) | 0x80; // version 8
  bytes[8] = (bytes[8]! & 0x3f) | 0x80; // RFC 9562 variant
  const hex = bytes.toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}
