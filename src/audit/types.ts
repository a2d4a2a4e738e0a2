// Types of the tamper-evident audit trail (docs/audit.md).
import type { Envelope } from '../domain/types.ts';

export const AUDIT_KINDS = ['intent', 'decision', 'human_approval', 'approval', 'refusal', 'execution', 'checkpoint'] as const;
export type AuditKind = (typeof AUDIT_KINDS)[number];

/** One link of a chain, as stored in PostgreSQL (audit_log) and published on sentinel.audit. */
export interface AuditEntry {
  chainId: string;
  /** 1, 2, 3 ... without gaps. */
  sequence: number;
  kind: AuditKind;
  /** The recorded subject's id (intent id, decision id, response id, approval id, execution id), or "checkpoint:<n>". */
  subjectId: string;
  /** RFC 8785 canonical JSON of the recorded fields (for a checkpoint: its signed payload). */
  recordJson: string;
  /** The hash of the previous link (GENESIS_HASH for sequence 1). */
  previousHash: string;
  /** linkHash() of this link. */
  hash: string;
  /** A checkpoint's DSSE envelope, signed over recordJson; null for other kinds. */
  checkpoint: Envelope | null;
}

/** What a recorded event contributes before it gets its place in the chain. */
export interface AuditDraft {
  kind: Exclude<AuditKind, 'checkpoint'>;
  subjectId: string;
  /** The source event's id: an event is recorded once, however often it is delivered. */
  eventId: string;
  /** The flow the event belongs to (its metadata.correlationId: the intent id). */
  correlationId: string;
  /** Plain JSON data (no Buffers), canonicalised into recordJson. */
  record: unknown;
}

/** A stored link with the bookkeeping columns that are not part of the hash. */
export interface StoredAuditEntry extends AuditEntry {
  eventId: string;
  /** The recorded event's flow (intent id); the chain id for checkpoints. */
  correlationId: string;
  /** For a checkpoint: the event after which it was taken (null when a timer took it). */
  causedBy: string | null;
  recordedAt: number;
}
