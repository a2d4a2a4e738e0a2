// Check 3, `key`: the key id names a key in the pinned registry (never a key carried by the message),
// and neither that key nor, for a delegated key, its parent is revoked.
import { type KeyRegistry, type RegisteredKey, findKey, isRevoked } from '../keys/registry.ts';
import { type CheckResult, failure, pass } from './types.ts';

export function checkKey(registry: KeyRegistry, keyId: string): CheckResult<RegisteredKey> {
  const entry = findKey(registry, keyId);
  if (entry === undefined) return failure('SNT_APPROVAL_KEY_UNKNOWN', 'the key id is not in the key registry');
  if (isRevoked(registry, entry)) {
    return failure('SNT_APPROVAL_KEY_REVOKED', entry.record.status === 'revoked' ? 'the signing key is revoked' : 'the parent of the delegated signing key is revoked');
  }
  return pass(entry);
}
