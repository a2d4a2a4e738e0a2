// Types of the verification pipeline (docs/approval-format.md §6).
import type { Action, EpochMillis } from '../../domain/types.ts';
import type { ApprovalErrorCode } from '../../errors/approval.ts';
import type { KeyRegistry } from '../keys/registry.ts';
import type { ApprovalPayload } from '../payload.ts';

/** The checks, in the order they run. */
export const CHECKS = [
  'envelope', 'payload_type', 'key', 'signature', 'payload', 'key_validity',
  'audience', 'issuer', 'time', 'binding', 'single_use',
] as const;
export type CheckName = (typeof CHECKS)[number];

export type VerificationCode = Extract<ApprovalErrorCode, `SNT_APPROVAL_${string}`>;

/** Default bounded clock skew (CLOCK_SKEW_SECONDS=30). */
export const DEFAULT_CLOCK_SKEW_MS = 30_000;
/** Default longest accepted lifetime expiresAt - notBefore (3 x the default 5-minute TTL). */
export const DEFAULT_MAX_TTL_MS = 15 * 60_000;

export interface VerifyInput {
  /** The pinned key registry; keys come only from here, never from the message. */
  registry: KeyRegistry;
  /** The verifier's own clock (never the Kafka record timestamp). */
  now: EpochMillis;
  /** This verifier's audience (APPROVAL_AUDIENCE). */
  audience: string;
  /** Issuers accepted; omitted = any issuer. */
  issuers?: readonly string[];
  clockSkewMs?: number;
  maxTtlMs?: number;
  /** The action the executor is about to run (its digest is recomputed and compared). */
  action: Action;
  /** The ids of the event that carried the envelope; the signed payload must name the same. */
  event: { intentId: string; decisionId: string; approvalId?: string };
  /**
   * Whether an approval id was already used (a pure look-up; the executor's atomic guard in
   * PostgreSQL is what finally enforces single use). Omitted = nothing seen.
   */
  seen?: (approvalId: string) => boolean;
}

export type Verdict =
  | { ok: true; payload: ApprovalPayload; keyId: string }
  | {
    ok: false;
    code: VerificationCode;
    reason: string;
    check: CheckName;
    /** The envelope's key id, when it got that far (for audit). */
    keyId: string | null;
    /** The payload when the signature verified (authentic but refused), else null. */
    payload: ApprovalPayload | null;
  };

/** What one check answers: its evidence, or a failure with its code. */
export type CheckResult<T> = { ok: true; value: T } | { ok: false; code: VerificationCode; reason: string };

export function pass<T>(value: T): CheckResult<T> {
  return { ok: true, value };
}

export function failure<T = never>(code: VerificationCode, reason: string): CheckResult<T> {
  return { ok: false, code, reason };
}
