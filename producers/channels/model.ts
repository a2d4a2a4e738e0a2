// The channels service's pure decisions: intent and reply ids, the Intent built from a message or
// an agent's tool call, the human-approval events built from an answer or a deadline, and whether
// an answer can be taken at all. Time and ids come in as arguments; nothing here does I/O.
import type { ApprovalAnswer, InboundMessage } from '../../src/channels/types.ts';
import type {
  Action, ApprovalPrompt, ChannelName, ChannelReply, ConversationRef, EpochMillis, HumanApprovalResponse, Intent, Principal, ReplyKind,
} from '../../src/domain/types.ts';
import { SentinelError, type ErrorCode } from '../../src/errors/index.ts';
import { deterministicUuid } from '../../src/kafka/ids.ts';

/** How an expiry is attributed: not a person, so no platform identity can ever be mistaken for it. */
export const DEADLINE_PRINCIPAL_ID = 'system:approval-deadline';
export const DEADLINE_AUTHENTICATED_BY = 'sentinel-approval-deadline';

/**
 * The intent id of a message: (channel, conversation, platform message id) identifies a message,
 * so a platform's redelivery (or two replicas both seeing a gateway message) yields the same
 * intent, which policy decides once.
 */
export function intentIdFor(channel: ChannelName, conversationId: string, platformMessageId: string): string {
  return deterministicUuid('aureus-sentinel/intent', channel, conversationId, platformMessageId);
}

/** The history key of an inbound message (unique in channel_messages). */
export function inboundKey(channel: ChannelName, conversationId: string, platformMessageId: string): string {
  return `in:${channel}:${conversationId}:${platformMessageId}`;
}

export function replyKey(replyId: string): string {
  return `reply:${replyId}`;
}

export interface IntentInput {
  conversation: ConversationRef;
  requester: Principal;
  source: Intent['source'];
  text: string | null;
  action: Action;
  extraction: Intent['extraction'];
  platformMessageId: string;
  submittedAt: EpochMillis;
}

export function buildIntent(input: IntentInput): Intent {
  return {
    intentId: intentIdFor(input.conversation.channel, input.conversation.conversationId, input.platformMessageId),
    conversation: input.conversation,
    requester: input.requester,
    source: input.source,
    text: input.text,
    action: input.action,
    extraction: input.extraction,
    submittedAt: input.submittedAt,
  };
}

/** A reply the channels service itself sends (a clarifying question, help), answering one message. */
export function directReply(message: Pick<InboundMessage, 'channel' | 'conversationId' | 'platformMessageId'>, kind: ReplyKind, text: string): ChannelReply {
  return {
    replyId: deterministicUuid('aureus-sentinel/reply', kind, message.channel, message.conversationId, message.platformMessageId),
    conversation: { channel: message.channel, conversationId: message.conversationId },
    intentId: null,
    recipientUserId: null,
    kind,
    text,
    prompt: null,
  };
}

/** What the service keeps about a prompt (channel_approval_prompts). */
export interface StoredPrompt {
  decisionId: string;
  intentId: string;
  conversation: ConversationRef;
  requesterUserId: string;
  prompt: ApprovalPrompt;
  status: ApprovalPrompt['status'];
  deadline: EpochMillis;
  promptedUsers: readonly string[];
  traceId: string | null;
  spanId: string | null;
  expiredEmittedAt: EpochMillis | null;
}

export type Screening = { ok: true } | { ok: false; code: ErrorCode; reason: string; message: string };

function refuse(code: ErrorCode, reason: string, message: string): Screening {
  return { ok: false, code, reason, message };
}

/**
 * Whether an answer can be passed on to the signer. The signer alone decides whether it counts;
 * here an answer is refused (and changes nothing) when there is nothing to answer, it is too late,
 * or the person was never asked: not prompted for this decision and not its requester (who may
 * confirm some actions themselves; the signer checks when).
 */
export function screenAnswer(stored: StoredPrompt | null, answerer: Principal, decisionId: string, now: EpochMillis): Screening {
  if (stored === null) return refuse('SNT_NOT_FOUND', 'unknown_decision', `There is no approval request ${decisionId}.`);
  // Who may answer is checked first: someone who was never asked learns nothing about the request.
  const asked = stored.promptedUsers.includes(answerer.userId) || stored.requesterUserId === answerer.userId;
  if (!asked) {
    return refuse('SNT_FORBIDDEN', 'not_an_approver', `You are not an approver for ${decisionId}; your answer was not recorded.`);
  }
  if (stored.status !== 'pending') {
    return refuse('SNT_CONFLICT', 'already_decided', `Approval request ${decisionId} is already ${stored.status}${stored.prompt.decidedBy ? ` (by ${stored.prompt.decidedBy})` : ''}.`);
  }
  if (stored.expiredEmittedAt !== null || now > stored.deadline) {
    return refuse('SNT_CONFLICT', 'deadline_passed', `The deadline for ${decisionId} has passed; the request expired.`);
  }
  return { ok: true };
}

export function refusalError(screening: Extract<Screening, { ok: false }>, details: Record<string, unknown>): SentinelError {
  return new SentinelError(screening.code, screening.message, { details: { reason: screening.reason, ...details } });
}

/**
 * The HumanApprovalResponded for an answer, carrying the approver's identity and the platform
 * evidence exactly as the adapter authenticated them. The response id is derived from the
 * callback (its digest), so a platform redelivering the same callback yields the same event.
 */
export function humanResponseOf(answer: ApprovalAnswer, approver: Principal, intentId: string): HumanApprovalResponse {
  return {
    responseId: deterministicUuid('aureus-sentinel/human-response', answer.decisionId, answer.platform, answer.platformUserId, answer.verdict, answer.callbackDigest),
    decisionId: answer.decisionId,
    intentId,
    approver,
    verdict: answer.verdict,
    evidence: {
      platform: answer.platform,
      authenticatedBy: answer.authenticatedBy,
      platformUserId: answer.platformUserId,
      platformMessageId: answer.platformMessageId,
      callbackDigest: answer.callbackDigest,
      receivedAt: answer.receivedAt,
    },
    respondedAt: answer.receivedAt,
  };
}

/**
 * One id per decision: however many replicas or retries emit the expiry, it is the same response.
 * The signer's own deadline timer (consumers/signer/expiry.ts) derives the same id, so whichever
 * fires first is the one applied and the other is recognised as a repeat.
 */
export function expiredResponseId(decisionId: string): string {
  return deterministicUuid(decisionId, 'deadline-expired');
}

/** The expiry of an unanswered prompt, as a response with verdict "expired" at the deadline. */
export function expiredResponseOf(stored: StoredPrompt): HumanApprovalResponse {
  const channel = stored.conversation.channel;
  return {
    responseId: expiredResponseId(stored.decisionId),
    decisionId: stored.decisionId,
    intentId: stored.intentId,
    approver: { userId: DEADLINE_PRINCIPAL_ID, channel, channelUserId: DEADLINE_PRINCIPAL_ID, displayName: 'Approval deadline' },
    verdict: 'expired',
    evidence: {
      platform: channel,
      authenticatedBy: DEADLINE_AUTHENTICATED_BY,
      platformUserId: DEADLINE_PRINCIPAL_ID,
      platformMessageId: null,
      callbackDigest: null,
      receivedAt: stored.deadline,
    },
    respondedAt: stored.deadline,
  };
}

/** Text stored in PostgreSQL: NUL and lone surrogates become U+FFFD (text columns refuse NUL). */
export function storableText(text: string): string {
  return text.replaceAll('\u0000', '\uFFFD').toWellFormed();
}
