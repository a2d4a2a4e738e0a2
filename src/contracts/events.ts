// One definition per event type: its Avro schema name, its topic, and the mapping between the
// domain type (src/domain/types.ts) and the Avro record. The mapping is where records from the
// wire are checked beyond what Avro guarantees (enumerated strings, safe integers).
import { SentinelError } from '../errors/index.ts';
import {
  CHANNEL_NAMES,
  type Action, type ChannelName, type ChannelReply, type ConversationRef, type Decision, type ExecutionResult,
  type HumanApprovalResponse, type Intent, type Principal, type SignedApprovalEvent, type SigningKeyRecord,
} from '../domain/types.ts';
import type { EventMetadata } from './metadata.ts';
import { AUDIT_KINDS, type AuditEntry, type AuditKind } from '../audit/types.ts';

export interface EventRecord<T> { metadata: EventMetadata; data: T }

export interface EventDefinition<T> {
  /** Avro schema name in schemas/avro/events. */
  schemaName: string;
  /** metadata.eventType */
  eventType: string;
  /** Version of the schema file (metadata.schemaVersion), bumped with each change. */
  schemaVersion: number;
  /** Logical topic in topics.yaml. */
  topic: string;
  /** The domain object's id (used for deterministic event ids and dead-letter context). */
  idOf(data: T): string;
  /** The intent id the flow belongs to. */
  correlationOf(data: T): string;
  toAvro(record: EventRecord<T>): Record<string, unknown>;
  fromAvro(value: Record<string, unknown>): EventRecord<T>;
}

const ACTION_NAMESPACE = 'dev.aureus.sentinel.action.';
const ACTION_BRANCHES = {
  transfer: `${ACTION_NAMESPACE}TransferAction`,
  message_send: `${ACTION_NAMESPACE}MessageSendAction`,
  command_run: `${ACTION_NAMESPACE}CommandRunAction`,
  tool_call: `${ACTION_NAMESPACE}ToolCallAction`,
} as const;

function invalid(message: string, path: string): SentinelError {
  return new SentinelError('SNT_VALIDATION_FAILED', message, { details: { paths: [path] } });
}

export function actionToAvro(action: Action): Record<string, unknown> {
  const { type, ...fields } = action;
  return { [ACTION_BRANCHES[type]]: fields };
}

export function actionFromAvro(wrapped: unknown): Action {
  const [branch, fields] = Object.entries(wrapped as Record<string, Record<string, unknown>>)[0] ?? [];
  switch (branch) {
    case ACTION_BRANCHES.transfer: {
      const amountMinor = Number(fields!.amountMinor);
      if (!Number.isSafeInteger(amountMinor) || amountMinor <= 0) throw invalid('transfer amount must be a positive safe integer', 'action.amountMinor');
      if (!/^[A-Z]{3}$/.test(String(fields!.currency))) throw invalid('currency must be an ISO 4217 code', 'action.currency');
      return { type: 'transfer', amountMinor, currency: String(fields!.currency), payee: String(fields!.payee), memo: (fields!.memo as string | null) ?? null };
    }
    case ACTION_BRANCHES.message_send:
      return { type: 'message_send', medium: String(fields!.medium), recipient: String(fields!.recipient), subject: (fields!.subject as string | null) ?? null, body: String(fields!.body) };
    case ACTION_BRANCHES.command_run:
      return { type: 'command_run', host: String(fields!.host), command: String(fields!.command) };
    case ACTION_BRANCHES.tool_call:
      return { type: 'tool_call', tool: String(fields!.tool), argumentsJson: String(fields!.argumentsJson) };
    default:
      throw invalid(`unknown action branch ${String(branch)}`, 'action');
  }
}

function channel(value: unknown, path: string): ChannelName {
  if (typeof value === 'string' && (CHANNEL_NAMES as readonly string[]).includes(value)) return value as ChannelName;
  throw invalid(`unknown channel "${String(value)}"`, path);
}

function conversation(value: unknown, path: string): ConversationRef {
  const v = value as ConversationRef;
  return { channel: channel(v.channel, `${path}.channel`), conversationId: v.conversationId };
}

function principal(value: unknown, path: string): Principal {
  const v = value as Principal;
  return { userId: v.userId, channel: channel(v.channel, `${path}.channel`), channelUserId: v.channelUserId, displayName: v.displayName ?? null };
}

function split(value: Record<string, unknown>): { metadata: EventMetadata; rest: Record<string, unknown> } {
  const { metadata, ...rest } = value;
  return { metadata: metadata as EventMetadata, rest };
}

export const IntentSubmitted: EventDefinition<Intent> = {
  schemaName: 'IntentSubmitted',
  eventType: 'sentinel.intent.submitted',
  schemaVersion: 1,
  topic: 'sentinel.intents',
  idOf: (d) => d.intentId,
  correlationOf: (d) => d.intentId,
  toAvro: ({ metadata, data }) => ({ metadata, ...data, action: actionToAvro(data.action) }),
  fromAvro(value) {
    const { metadata, rest } = split(value);
    const data = rest as unknown as Intent;
    return {
      metadata,
      data: {
        ...data,
        conversation: conversation(data.conversation, 'conversation'),
        requester: principal(data.requester, 'requester'),
        action: actionFromAvro(rest.action),
      },
    };
  },
};

export const DecisionMade: EventDefinition<Decision> = {
  schemaName: 'DecisionMade',
  eventType: 'sentinel.decision.made',
  schemaVersion: 1,
  topic: 'sentinel.decisions',
  idOf: (d) => d.decisionId,
  correlationOf: (d) => d.intentId,
  toAvro: ({ metadata, data }) => ({ metadata, ...data, action: actionToAvro(data.action) }),
  fromAvro(value) {
    const { metadata, rest } = split(value);
    const data = rest as unknown as Decision;
    return {
      metadata,
      data: {
        ...data,
        conversation: conversation(data.conversation, 'conversation'),
        requester: principal(data.requester, 'requester'),
        action: actionFromAvro(rest.action),
        humanApproval: data.humanApproval ?? null,
      },
    };
  },
};

export const HumanApprovalResponded: EventDefinition<HumanApprovalResponse> = {
  schemaName: 'HumanApprovalResponded',
  eventType: 'sentinel.human-approval.responded',
  schemaVersion: 1,
  topic: 'sentinel.human-approvals',
  idOf: (d) => d.responseId,
  correlationOf: (d) => d.intentId,
  toAvro: ({ metadata, data }) => ({ metadata, ...data }),
  fromAvro(value) {
    const { metadata, rest } = split(value);
    const data = rest as unknown as HumanApprovalResponse;
    return {
      metadata,
      data: { ...data, approver: principal(data.approver, 'approver'), evidence: { ...data.evidence, platform: channel(data.evidence.platform, 'evidence.platform') } },
    };
  },
};

export const ApprovalSigned: EventDefinition<SignedApprovalEvent> = {
  schemaName: 'ApprovalSigned',
  eventType: 'sentinel.approval.signed',
  schemaVersion: 1,
  topic: 'sentinel.approvals',
  idOf: (d) => d.approvalId,
  correlationOf: (d) => d.intentId,
  toAvro: ({ metadata, data }) => ({ metadata, ...data, action: actionToAvro(data.action) }),
  fromAvro(value) {
    const { metadata, rest } = split(value);
    const data = rest as unknown as SignedApprovalEvent;
    return {
      metadata,
      data: { ...data, conversation: conversation(data.conversation, 'conversation'), action: actionFromAvro(rest.action) },
    };
  },
};

export const ExecutionRecorded: EventDefinition<ExecutionResult> = {
  schemaName: 'ExecutionRecorded',
  eventType: 'sentinel.execution.recorded',
  schemaVersion: 1,
  topic: 'sentinel.executions',
  idOf: (d) => d.executionId,
  correlationOf: (d) => d.intentId,
  toAvro: ({ metadata, data }) => ({ metadata, ...data }),
  fromAvro(value) {
    const { metadata, rest } = split(value);
    const data = rest as unknown as ExecutionResult;
    return { metadata, data: { ...data, conversation: conversation(data.conversation, 'conversation') } };
  },
};

export const ChannelReplyRequested: EventDefinition<ChannelReply> = {
  schemaName: 'ChannelReplyRequested',
  eventType: 'sentinel.reply.requested',
  schemaVersion: 1,
  topic: 'sentinel.replies',
  idOf: (d) => d.replyId,
  correlationOf: (d) => d.intentId ?? d.replyId,
  toAvro: ({ metadata, data }) => ({ metadata, ...data }),
  fromAvro(value) {
    const { metadata, rest } = split(value);
    const data = rest as unknown as ChannelReply;
    return {
      metadata,
      data: {
        ...data,
        conversation: conversation(data.conversation, 'conversation'),
        prompt: data.prompt ? { ...data.prompt, requester: principal(data.prompt.requester, 'prompt.requester') } : null,
      },
    };
  },
};

export const SigningKeyPublished: EventDefinition<SigningKeyRecord> = {
  schemaName: 'SigningKeyPublished',
  eventType: 'sentinel.signing-key.published',
  schemaVersion: 1,
  topic: 'sentinel.signing-keys',
  idOf: (d) => d.keyId,
  correlationOf: (d) => d.keyId,
  toAvro: ({ metadata, data }) => ({ metadata, ...data }),
  fromAvro(value) {
    const { metadata, rest } = split(value);
    const data = rest as unknown as SigningKeyRecord;
    if (data.algorithm !== 'ed25519') throw invalid(`unsupported key algorithm ${String(data.algorithm)}`, 'algorithm');
    if (data.publicKey.length !== 32) throw invalid('an Ed25519 public key has 32 bytes', 'publicKey');
    return { metadata, data: { ...data, revokedAt: data.revokedAt ?? null, certificate: data.certificate ?? null } };
  },
};

/** One link of the audit chain (src/audit, docs/audit.md). The chain id travels as metadata.correlationId (and the record key). */
export const AuditRecorded: EventDefinition<AuditEntry> = {
  schemaName: 'AuditRecorded',
  eventType: 'sentinel.audit.recorded',
  schemaVersion: 1,
  topic: 'sentinel.audit',
  idOf: (d) => `${d.chainId}:${d.sequence}`,
  correlationOf: (d) => d.chainId,
  toAvro: ({ metadata, data }) => ({
    metadata, sequence: data.sequence, kind: data.kind, subjectId: data.subjectId, recordJson: data.recordJson,
    previousHash: data.previousHash, hash: data.hash, checkpoint: data.checkpoint,
  }),
  fromAvro(value) {
    const { metadata, rest } = split(value);
    const kind = rest.kind as string;
    if (!(AUDIT_KINDS as readonly string[]).includes(kind)) throw invalid(`unknown audit kind "${kind}"`, 'kind');
    const sequence = Number(rest.sequence);
    if (!Number.isSafeInteger(sequence) || sequence < 1) throw invalid('sequence must be a positive safe integer', 'sequence');
    return {
      metadata,
      data: {
        chainId: metadata.correlationId, sequence, kind: kind as AuditKind, subjectId: String(rest.subjectId), recordJson: String(rest.recordJson),
        previousHash: String(rest.previousHash), hash: String(rest.hash), checkpoint: (rest.checkpoint as AuditEntry['checkpoint']) ?? null,
      },
    };
  },
};

export const EVENT_DEFINITIONS = [
  IntentSubmitted, DecisionMade, HumanApprovalResponded, ApprovalSigned, ExecutionRecorded, ChannelReplyRequested, SigningKeyPublished, AuditRecorded,
] as const;

/**
 * The key of an intent: its requester. All of a user's intents reach one partition, so one policy
 * instance decides them in order and per-user limits (daily totals, velocity) cannot race.
 */
export function intentKey(intent: Intent): string {
  return `user:${intent.requester.userId}`;
}

/** The Kafka record key of an event about a conversation: its events stay in order on one partition. */
export function conversationKey(conversation: ConversationRef): string {
  return `${conversation.channel}:${conversation.conversationId}`;
}
