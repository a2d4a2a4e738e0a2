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
