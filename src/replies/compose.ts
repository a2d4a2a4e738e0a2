// What each stage tells users, as ChannelReply values (pure). Reply ids are derived from what they
// answer, so a redelivered record produces the same reply id and channels can drop the repeat.
import { deterministicUuid } from '../kafka/ids.ts';
import { summarizeAction } from '../domain/summary.ts';
import type { ApprovalPrompt, ChannelReply, Decision, ExecutionResult, ReplyKind } from '../domain/types.ts';

function reply(id: string, decision: Pick<Decision, 'conversation' | 'intentId'>, kind: ReplyKind, text: string, extra: Partial<ChannelReply> = {}): ChannelReply {
  return { replyId: id, conversation: decision.conversation, intentId: decision.intentId, recipientUserId: null, kind, text, prompt: null, ...extra };
}

export function promptOf(decision: Decision, status: ApprovalPrompt['status'], decidedBy: string | null = null): ApprovalPrompt {
  const human = decision.humanApproval;
  return {
    decisionId: decision.decisionId,
    intentId: decision.intentId,
    requester: decision.requester,
    actionSummary: summarizeAction(decision.action),
    riskTier: decision.risk.tier,
    reason: decision.reason,
    deadline: human?.deadline ?? decision.decidedAt,
    approvers: human?.approvers ?? [],
    requiredApprovals: human?.requiredApprovals ?? 0,
    status,
    decidedBy,
  };
}

/** Replies the policy stage sends: a refusal for deny; prompts for approvers and a notice for require_human. */
export function decisionReplies(decision: Decision): ChannelReply[] {
  const summary = summarizeAction(decision.action);
  switch (decision.outcome) {
    case 'allow':
      return [];
    case 'deny':
      return [reply(deterministicUuid(decision.decisionId, 'refused'), decision, 'outcome', `Refused: ${summary}. ${decision.reason}`)];
    case 'require_human': {
      const human = decision.humanApproval!;
      const until = new Date(human.deadline).toISOString().replace('.000Z', 'Z');
      const prompt = promptOf(decision, 'pending');
      const prompts = human.approvers.map((approver) => reply(
        deterministicUuid(decision.decisionId, 'prompt', approver), decision, 'approval_prompt',
        `Approval needed (${decision.risk.tier} risk): ${decision.requester.displayName ?? decision.requester.userId} wants to ${summary}. ${decision.reason} Answer by ${until}.`,
        { recipientUserId: approver, prompt },
      ));
      const waiting = reply(deterministicUuid(decision.decisionId, 'waiting'), decision, 'info',
        `Waiting for approval (${decision.risk.tier} risk): ${summary}. ${decision.reason} Approvers: ${human.approvers.join(', ')}; deadline ${until}.`);
      return [waiting, ...prompts];
    }
    default: {
      const exhaustive: never = decision.outcome;
      return exhaustive;
    }
  }
}

/** The outcome the executor reports to the conversation that started the request. */
export function executionReply(result: ExecutionResult, summary: string): ChannelReply {
  const text = result.status === 'executed'
    ? `Done: ${summary}.${result.resultJson ? ` ${describeResult(result.resultJson)}` : ''}`
    : result.status === 'failed'
      ? `Failed: ${summary}. ${result.reason}`
      : `Not executed: ${summary}. ${result.reason}${result.code ? ` (${result.code})` : ''}`;
  return {
    replyId: deterministicUuid(result.executionId, 'outcome'),
    conversation: result.conversation,
    intentId: result.intentId,
    recipientUserId: null,
    kind: 'outcome',
    text,
    prompt: null,
  };
}

function describeResult(resultJson: string): string {
  try {
    const parsed = JSON.parse(resultJson) as Record<string, unknown>;
    return typeof parsed.summary === 'string' ? parsed.summary : '';
  } catch {
    return '';
  }
}

// ---------------------------------------------------------------------------------------------
// What the signer ("Bridge") tells people about human approvals.

function displayName(decision: Decision): string {
  return decision.requester.displayName ?? decision.requester.userId;
}

function isoMinute(at: number): string {
  return new Date(at).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

/**
 * approval_update replies to every approver the decision named (as the prompts were addressed),
 * so each channel can update its prompt: approved/denied/expired by whom, or still pending after a
 * partial approval ("carol approved, 1 of 2").
 */
export function approvalUpdateReplies(
  decision: Decision,
  status: ApprovalPrompt['status'],
  decidedBy: string | null,
  progress: { approvals: number; required: number } | null = null,
): ChannelReply[] {
  const summary = summarizeAction(decision.action);
  const by = decidedBy ?? 'nobody';
  const text = status === 'approved' ? `Approved by ${by}: ${summary} (requested by ${displayName(decision)}).`
    : status === 'denied' ? `Denied by ${by}: ${summary} (requested by ${displayName(decision)}).`
      : status === 'expired' ? `Expired: ${summary} (requested by ${displayName(decision)}) was not approved before ${isoMinute(decision.humanApproval?.deadline ?? decision.decidedAt)}.`
        : `${by} approved ${summary}${progress ? ` (${progress.approvals} of ${progress.required} approvals)` : ''}; waiting for more.`;
  const prompt = promptOf(decision, status, decidedBy);
  return (decision.humanApproval?.approvers ?? []).map((approver) => reply(
    deterministicUuid(decision.decisionId, 'update', status, decidedBy ?? '', approver), decision, 'approval_update', text,
    { recipientUserId: approver, prompt },
  ));
}

/** The requester's notice when the request was approved by people (the approval is being executed). */
export function approvedNotice(decision: Decision, approvers: readonly string[]): ChannelReply {
  return reply(deterministicUuid(decision.decisionId, 'approved'), decision, 'info',
    `Approved by ${approvers.join(', ')}: ${summarizeAction(decision.action)}. It will run now.`);
}

/** The requester's outcome when a human request ends without approval: denied by an approver, or expired. */
export function humanRefusalOutcome(decision: Decision, status: 'denied' | 'expired', decidedBy: string | null): ChannelReply {
  const summary = summarizeAction(decision.action);
  const text = status === 'denied'
    ? `Refused: ${summary}. Denied by ${decidedBy ?? 'an approver'}.`
    : `Refused: ${summary}. No approval before the deadline (${isoMinute(decision.humanApproval?.deadline ?? decision.decidedAt)}).`;
  return reply(deterministicUuid(decision.decisionId, status), decision, 'outcome', text);
}

/** The requester's outcome when the signer's own re-check refuses to sign (nothing runs). */
export function signingRefusalOutcome(decision: Decision, code: string, reason: string): ChannelReply {
  return reply(deterministicUuid(decision.decisionId, 'not-signed', code), decision, 'outcome',
    `Not approved: ${summarizeAction(decision.action)}. ${reason} (${code})`);
}

/** Told to an approver whose answer was not accepted (it changed nothing). */
export function responseRefusedReply(decision: Decision, response: { responseId: string; approver: { userId: string } }, code: string, reason: string): ChannelReply {
  return reply(deterministicUuid(response.responseId, 'refused', code), decision, 'info',
    `Your answer about "${summarizeAction(decision.action)}" was not accepted: ${reason} (${code}).`,
    { recipientUserId: response.approver.userId });
}
