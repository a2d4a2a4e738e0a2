// Check 5, `payload`: strict JSON (no duplicate members, valid UTF-8, no lone surrogates), the exact
// version-1 schema, and canonical (RFC 8785) bytes.
import { type ApprovalPayload, decodeApprovalPayload } from '../payload.ts';
import { type CheckResult, failure, pass } from './types.ts';

export function checkPayload(bytes: Buffer): CheckResult<ApprovalPayload> {
  const decoded = decodeApprovalPayload(bytes);
  if (decoded.ok) return pass(decoded.payload);
  return failure(decoded.problem === 'noncanonical' ? 'SNT_APPROVAL_PAYLOAD_NONCANONICAL' : 'SNT_APPROVAL_MALFORMED', decoded.reason);
}
