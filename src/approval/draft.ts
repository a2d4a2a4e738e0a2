// Drafting the approval payload from an authorised decision (docs/approval-format.md §3, §7). Pure:
// the time, the approval id and the nonce are parameters.
import { createHash } from 'node:crypto';
import type { Decision, EpochMillis } from '../domain/types.ts';
import { SentinelError } from '../errors/index.ts';
import { DEFAULT_APPROVAL_TTL_MS, type ApprovalApprover, type ApprovalPayload, validateApprovalPayload } from './payload.ts';

export interface DraftOptions {
  now: EpochMillis;
  /** Use approvalIdFor(decision.decisionId) unless you have a reason not to. */
  approvalId: string;
  /** 16+ random bytes, unpadded base64url (22+ characters), from the adapter's CSPRNG. */
  nonce: string;
  /** Lifetime (APPROVAL_TTL_SECONDS * 1000); default 5 minutes. */
  ttlMs?: number;
  /** APPROVAL_AUDIENCE, e.g. "aureus-executor". */
  audience: string;
  /** Who signs, e.g. "aureus-bridge" (verifiers may pin it). */
  issuer: string;
}

/**
 * The approval id of a decision: "apr_" + base64url(SHA-256("aureus.approval-id.v1\n" + decisionId)).
 * Deterministic on purpose: a signer that signs the same decision twice (a crash between signing and
 * committing, a redelivery) produces approvals with the same id, and the executor's single-use guard
 * lets at most one of them run.
 */
export function approvalIdFor(decisionId: string): string {
  return `apr_${createHash('sha256').update(`aureus.approval-id.v1\n${decisionId}`, 'utf8').digest('base64url')}`;
}

/**
 * The payload for a decision that authorizeSigning accepted. `approvers` is what it returned (empty
 * for an `allow` decision). Throws SentinelError SNT_SIGN_NOT_PERMITTED for a decision that is not
 * signable at all, and SNT_SIGN_PAYLOAD_INVALID when the result would not satisfy the schema (so the
 * signer never signs what verifiers would reject as malformed).
 */
export function draftApproval(decision: Decision, approvers: readonly ApprovalApprover[], options: DraftOptions): ApprovalPayload {
  const ttlMs = options.ttlMs ?? DEFAULT_APPROVAL_TTL_MS;
  if (!Number.isSafeInteger(ttlMs) || ttlMs <= 0) throw new RangeError(`ttlMs must be a positive integer, got ${ttlMs}`);
  if (decision.outcome === 'deny') {
    throw new SentinelError('SNT_SIGN_NOT_PERMITTED', 'a denied decision is never signed', { details: { decisionId: decision.decisionId } });
  }
  const basis = decision.outcome === 'allow' ? 'policy_allow' : 'human_approval';
  const payload: ApprovalPayload = {
    approvalId: options.approvalId,
    intentId: decision.intentId,
    decisionId: decision.decisionId,
    actionType: decision.action.type,
    actionDigest: decision.actionDigest,
    basis,
    requester: {
      userId: decision.requester.userId,
      channel: decision.requester.channel,
      channelUserId: decision.requester.channelUserId,
    },
    approvers: approvers.map((a) => ({ ...a, evidence: { ...a.evidence } })),
    riskTier: decision.risk.tier,
    ruleIds: [...decision.firedRules],
    policyVersion: decision.policyVersion,
    policyDigest: decision.policyDigest,
    issuedAt: options.now,
    notBefore: options.now,
    expiresAt: options.now + ttlMs,
    nonce: options.nonce,
    audience: options.audience,
    issuer: options.issuer,
  };
  const checked = validateApprovalPayload(payload);
  if (!checked.ok) {
    throw new SentinelError('SNT_SIGN_PAYLOAD_INVALID', `the drafted approval is not valid: ${checked.reason}`, { details: { decisionId: decision.decisionId } });
  }
  return checked.payload;
}
