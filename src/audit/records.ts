// What the audit trail records for each pipeline event (docs/audit.md §2). Pure.
import type { EventMetadata } from '../contracts/metadata.ts';
import type { Decision, ExecutionResult, HumanApprovalResponse, Intent, SignedApprovalEvent } from '../domain/types.ts';
import type { AuditDraft } from './types.ts';

/** JSON-safe copy: Buffers become standard base64 (as envelopes are written in JSON), undefined members are dropped. */
export function jsonSafe(value: unknown): unknown {
  if (Buffer.isBuffer(value) || value instanceof Uint8Array) return Buffer.from(value).toString('base64');
  if (Array.isArray(value)) return value.map(jsonSafe);
  if (value !== null && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) if (v !== undefined) out[k] = jsonSafe(v);
    return out;
  }
  return value;
}

export interface RecordedEvent {
  /** Logical topic (topics.yaml name). */
  topic: string;
  metadata: EventMetadata;
  data: unknown;
  source: { partition: number; offset: string };
}

function record(event: RecordedEvent): Record<string, unknown> {
  return {
    eventId: event.metadata.eventId,
    eventType: event.metadata.eventType,
    occurredAt: event.metadata.occurredAt,
    producer: event.metadata.producer,
    traceId: event.metadata.traceId,
    source: { topic: event.topic, partition: event.source.partition, offset: event.source.offset },
    data: jsonSafe(event.data),
  };
}

/** The audit draft of a pipeline event, or null for a topic the trail does not record. */
export function auditDraftOf(event: RecordedEvent): AuditDraft | null {
  const base = { eventId: event.metadata.eventId, correlationId: event.metadata.correlationId, record: record(event) };
  switch (event.topic) {
    case 'sentinel.intents':
      return { ...base, kind: 'intent', subjectId: (event.data as Intent).intentId };
    case 'sentinel.decisions':
      return { ...base, kind: 'decision', subjectId: (event.data as Decision).decisionId };
    case 'sentinel.human-approvals':
      return { ...base, kind: 'human_approval', subjectId: (event.data as HumanApprovalResponse).responseId };
    case 'sentinel.approvals':
      return { ...base, kind: 'approval', subjectId: (event.data as SignedApprovalEvent).approvalId };
    case 'sentinel.executions': {
      const execution = event.data as ExecutionResult;
      return { ...base, kind: execution.status === 'refused' ? 'refusal' : 'execution', subjectId: execution.executionId };
    }
    default:
      return null;
  }
}
