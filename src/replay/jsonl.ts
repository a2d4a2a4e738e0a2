// JSON Lines for data warehouses (docs/replay.md §5): one JSON object per line, UTF-8, "\n" ends
// every line. Bytes are standard base64, 64-bit integers beyond 2^53 are decimal strings. Pure.
import type { EventMetadata } from '../contracts/metadata.ts';
import type { StoredAuditEntry } from '../audit/types.ts';
import { envelopeToJson } from '../approval/dsse.ts';

function replacer(_key: string, value: unknown): unknown {
  if (typeof value === 'bigint') return value.toString();
  if (value !== null && typeof value === 'object' && (value as { type?: unknown }).type === 'Buffer' && Array.isArray((value as { data?: unknown }).data)) {
    return Buffer.from((value as { data: number[] }).data).toString('base64');
  }
  if (value instanceof Uint8Array) return Buffer.from(value).toString('base64');
  return value;
}

/** One line (with its "\n"). Buffers (which JSON.stringify turns into {type, data}) become base64. */
export function jsonLine(value: unknown): string {
  return `${JSON.stringify(value, replacer)}\n`;
}

/** The export form of a replayed record. */
export function recordLine(record: {
  topic: string; partition: number; offset: string; timestamp: number; key: string | null; schemaId: number; metadata: EventMetadata; data: unknown;
}): string {
  return jsonLine({
    kind: 'record',
    topic: record.topic,
    partition: record.partition,
    offset: record.offset,
    timestamp: record.timestamp,
    key: record.key,
    schemaId: record.schemaId,
    eventType: record.metadata.eventType,
    eventId: record.metadata.eventId,
    metadata: record.metadata,
    data: record.data,
  });
}

/** The export form of an audit link: the record parsed back into JSON, the envelope in its JSON form. */
export function auditLine(entry: StoredAuditEntry): string {
  let record: unknown;
  try {
    record = JSON.parse(entry.recordJson);
  } catch {
    record = null;
  }
  return jsonLine({
    kind: 'audit_link',
    chainId: entry.chainId,
    sequence: entry.sequence,
    linkKind: entry.kind,
    subjectId: entry.subjectId,
    eventId: entry.eventId,
    correlationId: entry.correlationId,
    causedBy: entry.causedBy,
    previousHash: entry.previousHash,
    hash: entry.hash,
    recordedAt: entry.recordedAt,
    recordJson: entry.recordJson,
    record,
    checkpoint: entry.checkpoint === null ? null : envelopeToJson(entry.checkpoint),
  });
}
