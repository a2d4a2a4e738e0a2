// Checks 7 and 8, `audience` and `issuer`: the approval is addressed to this verifier, by an issuer it
// accepts (exact string comparison).
import type { ApprovalPayload } from '../payload.ts';
import { type CheckResult, failure, pass } from './types.ts';

export function checkAudience(audience: string, payload: ApprovalPayload): CheckResult<true> {
  return payload.audience === audience ? pass(true) : failure('SNT_APPROVAL_AUDIENCE', `the approval is for audience "${payload.audience}"`);
}

export function checkIssuer(issuers: readonly string[] | undefined, payload: ApprovalPayload): CheckResult<true> {
  if (issuers === undefined || issuers.includes(payload.issuer)) return pass(true);
  return failure('SNT_APPROVAL_ISSUER', `issuer "${payload.issuer}" is not accepted`);
}
