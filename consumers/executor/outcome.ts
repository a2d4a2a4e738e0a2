// What the executor does with a verdict (pure): the execution id of a record, the result and
// replies for a refusal or for a handler's outcome, and which records of a batch run, re-emit a
// stored result, or are refused. Time is a parameter; ids are derived from the consumed record.
import type { ApprovalPayload } from '../../src/approval/payload.ts';
import type { Verdict } from '../../src/approval/verify/types.ts';
import { summarizeAction } from '../../src/domain/summary.ts';
import type { ChannelReply, ExecutionResult, SignedApprovalEvent } from '../../src/domain/types.ts';
import type { ErrorCode } from '../../src/errors/index.ts';
import { deterministicUuid } from '../../src/kafka/ids.ts';
import { executionReply } from '../../src/replies/compose.ts';

/** Everything the executor emitted for one consumed record, as stored for re-emission. */
export type StoredOutput = { type: 'execution'; result: ExecutionResult } | { type: 'reply'; reply: ChannelReply };

export type HandlerOutcome =
  | { status: 'executed'; summary: string; result: Record<string, unknown>; replies?: ChannelReply[] }
  | { status: 'failed'; code: ErrorCode; reason: string; result?: Record<string, unknown> };

/** One execution id per consumed approvals-topic record. */
export function executionIdFor(eventId: string): string {
  return deterministicUuid('sentinel.execution', eventId);
}

export interface Refusal {
  code: string;
  reason: string;
  check: string | null;
  keyId: string | null;
}

export function refusalOf(verdict: Extract<Verdict, { ok: false }>): Refusal {
  return { code: verdict.code, reason: verdict.reason, check: verdict.check, keyId: verdict.keyId };
}

export const REPLAYED: Omit<Refusal, 'keyId'> = { code: 'SNT_APPROVAL_REPLAYED', reason: 'the approval was already used', check: 'single_use' };

function outputs(result: ExecutionResult, approval: SignedApprovalEvent, extra: readonly ChannelReply[] = []): StoredOutput[] {
  return [
    { type: 'execution', result },
    { type: 'reply', reply: executionReply(result, summarizeAction(approval.action)) },
    ...extra.map((reply): StoredOutput => ({ type: 'reply', reply })),
  ];
}

/** A refused record: the result (status refused, with the code) and what the conversation is told. */
export function refusedOutputs(approval: SignedApprovalEvent, refusal: Refusal, executionId: string, now: number): StoredOutput[] {
  const result: ExecutionResult = {
    executionId,
    intentId: approval.intentId,
    decisionId: approval.decisionId,
    approvalId: approval.approvalId,
    conversation: approval.conversation,
    status: 'refused',
    code: refusal.code,
    reason: `The approval was refused: ${refusal.reason}.`,
    resultJson: null,
    executedAt: now,
  };
  return outputs(result, approval);
}

/** A verified approval that ran: executed or failed, as its handler said. */
export function executedOutputs(approval: SignedApprovalEvent, payload: ApprovalPayload, outcome: HandlerOutcome, executionId: string, now: number): StoredOutput[] {
  const basis = payload.basis === 'human_approval' ? `approved by ${payload.approvers.map((a) => a.userId).join(', ')}` : 'allowed by policy';
  const result: ExecutionResult = outcome.status === 'executed'
    ? {
      executionId, intentId: approval.intentId, decisionId: approval.decisionId, approvalId: approval.approvalId, conversation: approval.conversation,
      status: 'executed', code: null, reason: `${outcome.summary} (${basis})`,
      resultJson: JSON.stringify({ summary: outcome.summary, ...outcome.result }), executedAt: now,
    }
    : {
      executionId, intentId: approval.intentId, decisionId: approval.decisionId, approvalId: approval.approvalId, conversation: approval.conversation,
      status: 'failed', code: outcome.code, reason: outcome.reason,
      resultJson: outcome.result === undefined ? null : JSON.stringify(outcome.result), executedAt: now,
    };
  return outputs(result, approval, outcome.status === 'executed' ? outcome.replies ?? [] : []);
}

export function resultOf(stored: readonly StoredOutput[]): ExecutionResult {
  const found = stored.find((o) => o.type === 'execution');
  if (found === undefined || found.type !== 'execution') throw new TypeError('stored outputs without an execution result');
  return found.result;
}

/** What happens to one fresh record of a batch, decided before anything runs. */
export type RecordPlan =
  | { kind: 'refuse'; refusal: Refusal }
  | { kind: 'claim'; payload: ApprovalPayload; keyId: string }
  /** Same approval id as an earlier record of this batch: same record → its result again; else replayed. */
  | { kind: 'follow'; index: number; sameRecord: boolean };

/**
 * Plans a batch of fresh records from their verdicts: refused ones are refused; of the verified
 * ones, the first record carrying an approval id claims it and any later one in the batch follows
 * it (a copy of the same record gets the same result; another record is a replay).
 */
export function planBatch(records: ReadonlyArray<{ eventId: string; approvalId: string; verdict: Verdict }>): RecordPlan[] {
  const firstByApproval = new Map<string, number>();
  return records.map((r, index): RecordPlan => {
    if (!r.verdict.ok) return { kind: 'refuse', refusal: refusalOf(r.verdict) };
    const first = firstByApproval.get(r.approvalId);
    if (first !== undefined) return { kind: 'follow', index: first, sameRecord: records[first]!.eventId === r.eventId };
    firstByApproval.set(r.approvalId, index);
    return { kind: 'claim', payload: r.verdict.payload, keyId: r.verdict.keyId };
  });
}
