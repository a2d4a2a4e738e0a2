// Check 4, `signature`: strict Ed25519 over PAE(payloadType, payload), before the payload is parsed.
// 64 bytes; S < L; R canonical and not small-order; then node:crypto's verify.
import { preAuthEncoding } from '../dsse.ts';
import { signatureEncodingProblem, verifyStrict } from '../ed25519.ts';
import type { RegisteredKey } from '../keys/registry.ts';
import type { SingleSignatureEnvelope } from './envelope.ts';
import { type CheckResult, failure, pass } from './types.ts';

const NONCANONICAL_REASONS = {
  s_not_canonical: 'S is not below the group order L',
  r_not_canonical: 'R is not a canonical point encoding',
  r_small_order: 'R is a small-order point',
} as const;

export function checkSignature(key: RegisteredKey, envelope: SingleSignatureEnvelope): CheckResult<true> {
  const problem = signatureEncodingProblem(envelope.sig);
  if (problem === 'length') return failure('SNT_APPROVAL_SIGNATURE_INVALID', `the signature is ${envelope.sig.length} bytes, not 64`);
  if (problem !== null) return failure('SNT_APPROVAL_SIGNATURE_NONCANONICAL', NONCANONICAL_REASONS[problem]);
  const result = verifyStrict(key.key, preAuthEncoding(envelope.payloadType, envelope.payload), envelope.sig);
  return result === 'ok' ? pass(true) : failure('SNT_APPROVAL_SIGNATURE_INVALID', 'the signature does not verify');
}
