// The signer's brain (pure): given what it knows about one decision (the decision, if seen, its
// status, and the human answers it holds) and one new input (the decision itself, or an answer),
// what changes and what must be said. Time and role membership are parameters; signing itself is
// done by the adapter (handler.ts), which asks issueApproval again (it re-checks everything).
//
// Rules (docs/approval-format.md §10, BRIEF §3 "Signer"):
// - allow → sign; deny → nothing (policy told the user); require_human → wait for answers.
// - An answer for a decision not seen yet is kept (orphan) and judged when the decision arrives.
// - An answer that is inconsistent, from someone who may not approve, the requester approving
//   their own request when not allowed (never at high risk), given after the deadline, or for a
//   request already decided is refused: the approver is told why, nothing else changes.
// - A deny from an authorised approver, or an `expired` verdict once the deadline has passed, ends
//   the request: the requester gets the refusal and every approver an approval_update.
// - Enough distinct authorised approvals → sign; approvers get "approved by", the requester a notice.
import { authorizeSigning, isAuthorisedApprover, type RoleMembers } from '../../src/approval/authorize.ts';
import type { SignRefusalCode } from '../../src/approval/authorize.ts';
import type { ChannelReply, Decision, EpochMillis, HumanApprovalResponse, Principal } from '../../src/domain/types.ts';
import {
  approvalUpdateReplies, approvedNotice, humanRefusalOutcome, responseRefusedReply, signingRefusalOutcome,
} from '../../src/replies/compose.ts';

export type DecisionStatus = 'pending' | 'signed' | 'denied' | 'expired' | 'not_signable';
export type ResponseStatus = 'orphan' | 'accepted' | 'refused';

export interface KnownDecision {
  decision: Decision;
  status: DecisionStatus;
  /** Why it is not pending/signed: the SNT_SIGN_* code (denied, expired, not_signable). */
  statusCode: string | null;
}

export interface KnownResponse {
  response: HumanApprovalResponse;
  status: ResponseStatus;
  code: string | null;
  reason: string | null;
}

/** Everything the signer holds about one decision id. */
export interface DecisionState {
  decisionId: string;
  known: KnownDecision | null;
  responses: KnownResponse[];
}

export interface PlanOptions {
  now: EpochMillis;
  roles: RoleMembers;
}

export interface Refusal {
  responseId: string;
  code: SignRefusalCode;
  reason: string;
}

/** What to do about one input. */
export interface Plan {
  next: DecisionState;
  /** Persist the decision row (new, or status changed). */
  decisionChanged: boolean;
  /** Responses whose row must be written (new, or status changed). */
  responsesChanged: KnownResponse[];
  /** Sign this decision now with these accepted answers (the adapter calls issueApproval). */
  sign: { responses: HumanApprovalResponse[]; onSigned: ChannelReply[] } | null;
  /** Re-emit the approval already issued for this decision (a redelivered or replayed decision). */
  reemitApproval: boolean;
  replies: ChannelReply[];
  refusals: Refusal[];
}

/** The principal of the signer's own deadline timer (its `expired` answers). */
export const DEADLINE_TIMER: Principal = { userId: 'system:signer-deadline', channel: 'http', channelUserId: 'sentinel-signer', displayName: 'Sentinel' };

export type Judgement = { ok: true } | { ok: false; code: SignRefusalCode; reason: string };

function refuse(code: SignRefusalCode, reason: string): Judgement {
  return { ok: false, code, reason };
}

function nameOf(p: Principal): string {
  return p.displayName ?? p.userId;
}

/**
 * Whether one answer counts for `known` (pending or not), given the answers already accepted.
 * Mirrors authorizeSigning's rules so that an accepted answer is one it will count.
 */
export function judgeResponse(known: KnownDecision, accepted: readonly HumanApprovalResponse[], r: HumanApprovalResponse, options: PlanOptions): Judgement {
  const d = known.decision;
  if (r.decisionId !== d.decisionId || r.intentId !== d.intentId) return refuse('SNT_SIGN_RESPONSE_INVALID', 'the answer names another request');
  if (d.outcome !== 'require_human' || d.humanApproval === null) return refuse('SNT_SIGN_NOT_PERMITTED', 'this request needs no human approval');
  if (known.status !== 'pending') return refuse('SNT_SIGN_ALREADY_DECIDED', `the request was already ${known.status === 'not_signable' ? 'closed' : known.status}`);
  const req = d.humanApproval;
  if (r.verdict === 'expired') {
    return options.now >= req.deadline ? { ok: true } : refuse('SNT_SIGN_RESPONSE_INVALID', 'the request has not expired yet');
  }
  if (r.evidence.platform !== r.approver.channel || r.evidence.platformUserId !== r.approver.channelUserId) {
    return refuse('SNT_SIGN_RESPONSE_INVALID', 'the platform evidence names another identity than the approver');
  }
  if (r.respondedAt > req.deadline || options.now > req.deadline) return refuse('SNT_SIGN_DEADLINE_PASSED', 'the answer came after the approval deadline');
  const requester = d.requester.userId;
  if (r.approver.userId === requester && !(req.requesterMayApprove && d.risk.tier !== 'high')) {
    return refuse('SNT_SIGN_SELF_APPROVAL', d.risk.tier === 'high' ? 'a high-risk request cannot be approved by its requester' : 'this request cannot be approved by its requester');
  }
  const requesterConfirms = r.approver.userId === d.requester.userId && req.requesterMayApprove && d.risk.tier !== 'high';
  if (!requesterConfirms && !isAuthorisedApprover(r.approver.userId, req.approvers, options.roles)) {
    return refuse('SNT_SIGN_NOT_APPROVER', `${r.approver.userId} may not approve this request (approvers: ${req.approvers.join(', ')})`);
  }
  if (accepted.some((a) => a.approver.userId === r.approver.userId && a.verdict !== 'expired')) {
    return refuse('SNT_SIGN_ALREADY_DECIDED', 'you already answered this request');
  }
  return { ok: true };
}

function emptyPlan(state: DecisionState): Plan {
  return { next: state, decisionChanged: false, responsesChanged: [], sign: null, reemitApproval: false, replies: [], refusals: [] };
}

function acceptedOf(state: DecisionState): HumanApprovalResponse[] {
  return state.responses.filter((r) => r.status === 'accepted').map((r) => r.response);
}

function withResponse(state: DecisionState, entry: KnownResponse): DecisionState {
  const others = state.responses.filter((r) => r.response.responseId !== entry.response.responseId);
  return { ...state, responses: [...others, entry] };
}

function withStatus(state: DecisionState, status: DecisionStatus, statusCode: string | null): DecisionState {
  return { ...state, known: { ...state.known!, status, statusCode } };
}

/** Signing an allow decision, or a human one that now has enough approvals: re-check first. */
function planSigning(plan: Plan, options: PlanOptions): Plan {
  const known = plan.next.known!;
  const accepted = acceptedOf(plan.next);
  const auth = authorizeSigning(known.decision, accepted, { now: options.now, roles: options.roles });
  if (auth.ok) {
    const onSigned = auth.basis === 'human_approval'
      ? (() => {
        const names = auth.approvers.map((a) => accepted.find((r) => r.responseId === a.responseId)).filter((r) => r !== undefined).map((r) => nameOf(r.approver));
        return [...approvalUpdateReplies(known.decision, 'approved', names.join(', ')), approvedNotice(known.decision, names)];
      })()
      : [];
    return { ...plan, sign: { responses: accepted, onSigned } };
  }
  if (auth.code === 'SNT_SIGN_AWAITING_APPROVALS') return plan;
  // The decision itself cannot be signed (digest mismatch, unusable requirement ...): close it.
  return {
    ...plan,
    next: withStatus(plan.next, 'not_signable', auth.code),
    decisionChanged: true,
    replies: [...plan.replies, signingRefusalOutcome(known.decision, auth.code, auth.reason)],
  };
}

/** Applies one answer to a decision the signer knows (judge, then accept or refuse). */
function applyResponse(plan: Plan, entry: HumanApprovalResponse, options: PlanOptions): Plan {
  const known = plan.next.known!;
  const judgement = judgeResponse(known, acceptedOf(plan.next), entry, options);
  if (!judgement.ok) {
    const refused: KnownResponse = { response: entry, status: 'refused', code: judgement.code, reason: judgement.reason };
    const tell = entry.verdict === 'expired' || entry.approver.userId === DEADLINE_TIMER.userId
      ? [] : [responseRefusedReply(known.decision, entry, judgement.code, judgement.reason)];
    return {
      ...plan,
      next: withResponse(plan.next, refused),
      responsesChanged: [...plan.responsesChanged, refused],
      replies: [...plan.replies, ...tell],
      refusals: [...plan.refusals, { responseId: entry.responseId, code: judgement.code, reason: judgement.reason }],
    };
  }
  const accepted: KnownResponse = { response: entry, status: 'accepted', code: null, reason: null };
  let next: Plan = { ...plan, next: withResponse(plan.next, accepted), responsesChanged: [...plan.responsesChanged, accepted] };
  const d = known.decision;
  switch (entry.verdict) {
    case 'deny':
      return {
        ...next,
        next: withStatus(next.next, 'denied', 'SNT_SIGN_HUMAN_DENIED'),
        decisionChanged: true,
        replies: [...next.replies, humanRefusalOutcome(d, 'denied', nameOf(entry.approver)), ...approvalUpdateReplies(d, 'denied', nameOf(entry.approver))],
      };
    case 'expired':
      return {
        ...next,
        next: withStatus(next.next, 'expired', 'SNT_SIGN_DEADLINE_PASSED'),
        decisionChanged: true,
        replies: [...next.replies, humanRefusalOutcome(d, 'expired', null), ...approvalUpdateReplies(d, 'expired', null)],
      };
    case 'approve': {
      next = planSigning(next, options);
      if (next.sign === null && next.next.known!.status === 'pending') {
        const required = d.humanApproval!.requiredApprovals;
        const approvals = new Set(acceptedOf(next.next).filter((r) => r.verdict === 'approve').map((r) => r.approver.userId)).size;
        next = { ...next, replies: [...next.replies, ...approvalUpdateReplies(d, 'pending', nameOf(entry.approver), { approvals, required })] };
      }
      return next;
    }
    default: {
      const unknown: never = entry.verdict;
      throw new TypeError(`unknown verdict ${String(unknown)}`);
    }
  }
}

/** A decision arrives (new, redelivered or replayed). */
export function planDecision(state: DecisionState, decision: Decision, options: PlanOptions): Plan {
  if (state.known !== null) {
    // Seen before: never decided twice. A signed one re-emits its stored approval (same bytes).
    return { ...emptyPlan(state), reemitApproval: state.known.status === 'signed' };
  }
  const status: DecisionStatus = decision.outcome === 'deny' ? 'not_signable' : 'pending';
  let plan: Plan = {
    ...emptyPlan({ ...state, known: { decision, status, statusCode: decision.outcome === 'deny' ? 'SNT_SIGN_NOT_PERMITTED' : null } }),
    decisionChanged: true,
  };
  if (decision.outcome === 'allow') plan = planSigning(plan, options);
  // Answers that arrived first are judged now, in the order they were given.
  const orphans = state.responses.filter((r) => r.status === 'orphan').map((r) => r.response)
    .sort((a, b) => a.respondedAt - b.respondedAt || (a.responseId < b.responseId ? -1 : a.responseId > b.responseId ? 1 : 0));
  for (const orphan of orphans) {
    if (plan.sign !== null) {
      // Already signable: later answers change nothing, but each approver hears back.
      plan = applyResponse({ ...plan, next: withStatus(plan.next, 'signed', null) }, orphan, options);
      plan = { ...plan, next: withStatus(plan.next, 'pending', null) };
      continue;
    }
    plan = applyResponse(plan, orphan, options);
  }
  return plan;
}

/** A human answer arrives. */
export function planResponse(state: DecisionState, response: HumanApprovalResponse, options: PlanOptions): Plan {
  if (state.responses.some((r) => r.response.responseId === response.responseId)) return emptyPlan(state); // a duplicate
  if (state.known === null) {
    const orphan: KnownResponse = { response, status: 'orphan', code: null, reason: null };
    return { ...emptyPlan(withResponse(state, orphan)), responsesChanged: [orphan] };
  }
  return applyResponse(emptyPlan(state), response, options);
}

/** After the adapter signed (or issueApproval refused after all): the final plan. */
export function afterSigning(plan: Plan, result: { ok: true } | { ok: false; code: SignRefusalCode; reason: string }): Plan {
  if (plan.sign === null) return plan;
  const known = plan.next.known!;
  if (result.ok) {
    return { ...plan, next: withStatus(plan.next, 'signed', null), decisionChanged: true, replies: [...plan.replies, ...plan.sign.onSigned] };
  }
  if (result.code === 'SNT_SIGN_AWAITING_APPROVALS') return { ...plan, sign: null };
  return {
    ...plan,
    sign: null,
    next: withStatus(plan.next, 'not_signable', result.code),
    decisionChanged: true,
    replies: [...plan.replies, signingRefusalOutcome(known.decision, result.code, result.reason)],
  };
}
