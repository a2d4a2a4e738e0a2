// Check 6, `key_validity`: the approval was issued inside the signing key's window
// [notBefore, notAfter] (for a delegated key, its certificate's window). A retired key still
// verifies what it signed while it was valid; it cannot vouch for anything issued later.
import type { RegisteredKey } from '../keys/registry.ts';
import type { ApprovalPayload } from '../payload.ts';
import { type CheckResult, failure, pass } from './types.ts';

export function checkKeyValidity(key: RegisteredKey, payload: ApprovalPayload): CheckResult<true> {
  const { notBefore, notAfter } = key.record;
  if (payload.issuedAt < notBefore || payload.issuedAt > notAfter) {
    return failure('SNT_APPROVAL_KEY_NOT_VALID', `issuedAt ${payload.issuedAt} is outside the key's window [${notBefore}, ${notAfter}]`);
  }
  return pass(true);
}
