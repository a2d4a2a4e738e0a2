// Check 9, `time`: lifetime within the maximum, then notBefore/expiresAt against the verifier's clock
// with a bounded skew. Valid exactly when
//   expiresAt - notBefore <= maxTtl  and  notBefore - skew <= now < expiresAt + skew.
import type { EpochMillis } from '../../domain/types.ts';
import type { ApprovalPayload } from '../payload.ts';
import { type CheckResult, failure, pass } from './types.ts';

export function checkTime(now: EpochMillis, clockSkewMs: number, maxTtlMs: number, payload: ApprovalPayload): CheckResult<true> {
  const ttl = payload.expiresAt - payload.notBefore;
  if (ttl > maxTtlMs) return failure('SNT_APPROVAL_TTL_TOO_LONG', `lifetime ${ttl} ms exceeds the maximum ${maxTtlMs} ms`);
  if (now < payload.notBefore - clockSkewMs) return failure('SNT_APPROVAL_NOT_YET_VALID', `not valid before ${payload.notBefore} (now ${now})`);
  if (now >= payload.expiresAt + clockSkewMs) return failure('SNT_APPROVAL_EXPIRED', `expired at ${payload.expiresAt} (now ${now})`);
  return pass(true);
}
