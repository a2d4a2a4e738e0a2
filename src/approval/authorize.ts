// The signer's gate (docs/approval-format.md §7): may this decision be signed, and on whose authority?
// Pure. The signer is never a generic signing oracle: it signs a decision whose outcome is `allow`,
// or a `require_human` decision that enough distinct authorised humans approved in time, and nothing
// else. Every refusal has a code.
import { actionDigest } from '../canonical/digest.ts';
import type { Decision, EpochMillis, HumanApprovalResponse } from '../domain/types.ts';
import type { ApprovalErrorCode } from '../errors/approval.ts';
import { MAX_APPROVERS, type ApprovalApprover, type ApprovalBasis } from './payload.ts';

/** Role name -> canonical user ids holding it (from the identity links file). */
export type RoleMembers = Readonly<Record<string, readonly string[]>>;

export interface AuthorizeOptions {
  now: EpochMillis;
  /** Members of each role, for approver entries written "role:<name>". */
  roles?: RoleMembers;
}

export type SignRefusalCode = Extract<ApprovalErrorCode, `SNT_SIGN_${string}`>;

export type Authorization =
  | { ok: true; basis: ApprovalBasis; approvers: ApprovalApprover[] }
  | { ok: false; code: SignRefusalCode; reason: string };

function refuse(code: SignRefusalCode, reason: string): Authorization {
  return { ok: false, code, reason };
}

function digestMatches(decision: Decision): boolean {
  try {
    return actionDigest(decision.action) === decision.actionDigest;
  } catch {
    return false; // an action JCS cannot represent has no digest to match
  }
}

/** Whether `userId` is named by the requirement, directly or through a "role:<name>" entry. */
export function isAuthorisedApprover(userId: string, approvers: readonly string[], roles: RoleMembers = {}): boolean {
  for (const entry of approvers) {
    if (entry.startsWith('role:')) {
      const role = entry.slice('role:'.length);
      const members = Object.hasOwn(roles, role) ? roles[role] : undefined;
      if (members?.includes(userId)) return true;
    } else if (entry === userId) {
      return true;
    }
  }
  return false;
}

/** The response is for this decision and its evidence names the same platform identity as the approver. */
function consistent(decision: Decision, r: HumanApprovalResponse): boolean {
  return r.decisionId === decision.decisionId
    && r.intentId === decision.intentId
    && r.evidence.platform === r.approver.channel
    && r.evidence.platformUserId === r.approver.channelUserId;
}

function toApprover(r: HumanApprovalResponse): ApprovalApprover {
  return {
    userId: r.approver.userId,
    channel: r.approver.channel,
    channelUserId: r.approver.channelUserId,
    responseId: r.responseId,
    respondedAt: r.respondedAt,
    evidence: {
      platform: r.evidence.platform,
      authenticatedBy: r.evidence.authenticatedBy,
      platformUserId: r.evidence.platformUserId,
      platformMessageId: r.evidence.platformMessageId,
      callbackDigest: r.evidence.callbackDigest,
      receivedAt: r.evidence.receivedAt,
    },
  };
}

/**
 * Decides whether `decision` may be signed now.
 * - The action digest is recomputed from decision.action and must equal decision.actionDigest.
 * - `deny` is never signed; `allow` is signed with no approvers.
 * - `require_human`: responses count only if they are for this decision and intent, their platform
 *   evidence names the approver's own platform identity, they were given at or before the deadline,
 *   and the approver is authorised (listed, or a member of a listed role). Any `deny` from an
 *   authorised approver ends it (SNT_SIGN_HUMAN_DENIED). `approve`s count once per distinct user;
 *   the requester counts only when requesterMayApprove and the risk tier is not high. Signing needs
 *   requiredApprovals of them and now <= deadline.
 */
export function authorizeSigning(
  decision: Decision,
  humanResponses: readonly HumanApprovalResponse[],
  options: AuthorizeOptions,
): Authorization {
  if (!digestMatches(decision)) {
    return refuse('SNT_SIGN_DIGEST_MISMATCH', 'decision.actionDigest is not the digest of decision.action');
  }
  switch (decision.outcome) {
    case 'allow':
      return { ok: true, basis: 'policy_allow', approvers: [] };
    case 'deny':
      return refuse('SNT_SIGN_NOT_PERMITTED', 'the decision denies this action');
    case 'require_human':
      break;
    default: {
      const unknown: never = decision.outcome;
      return refuse('SNT_SIGN_NOT_PERMITTED', `unknown decision outcome ${String(unknown)}`);
    }
  }
  const req = decision.humanApproval;
  if (req === null || !Number.isSafeInteger(req.requiredApprovals) || req.requiredApprovals < 1 || req.approvers.length === 0) {
    return refuse('SNT_SIGN_NOT_PERMITTED', 'the decision requires human approval but names no usable approval requirement');
  }
  const roles = options.roles ?? {};
  const requester = decision.requester.userId;
  const requesterCounts = req.requesterMayApprove && decision.risk.tier !== 'high';

  const inTime = humanResponses
    .filter((r) => consistent(decision, r) && r.respondedAt <= req.deadline)
    // A requester allowed to approve (never at high risk) counts even when not a listed approver:
    // "confirm it yourself, or have an approver confirm it".
    .filter((r) => isAuthorisedApprover(r.approver.userId, req.approvers, roles) || (requesterCounts && r.approver.userId === requester))
    .sort((a, b) => a.respondedAt - b.respondedAt || (a.responseId < b.responseId ? -1 : a.responseId > b.responseId ? 1 : 0));

  const denial = inTime.find((r) => r.verdict === 'deny');
  if (denial !== undefined) {
    return refuse('SNT_SIGN_HUMAN_DENIED', `denied by ${denial.approver.userId}`);
  }
  const approvers: ApprovalApprover[] = [];
  const counted = new Set<string>();
  for (const r of inTime) {
    if (r.verdict !== 'approve' || counted.has(r.approver.userId)) continue;
    if (r.approver.userId === requester && !requesterCounts) continue;
    counted.add(r.approver.userId);
    approvers.push(toApprover(r));
  }
  if (options.now > req.deadline) {
    return refuse('SNT_SIGN_DEADLINE_PASSED', `the approval deadline passed with ${approvers.length} of ${req.requiredApprovals} approvals`);
  }
  if (approvers.length < req.requiredApprovals) {
    return refuse('SNT_SIGN_AWAITING_APPROVALS', `${approvers.length} of ${req.requiredApprovals} distinct authorised approvals`);
  }
  // The payload names at most MAX_APPROVERS (the earliest ones); more than enough is still enough.
  return { ok: true, basis: 'human_approval', approvers: approvers.slice(0, Math.max(MAX_APPROVERS, req.requiredApprovals)) };
}
