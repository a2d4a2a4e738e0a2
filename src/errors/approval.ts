import type { ErrorCodeSpec } from './spec.ts';

/**
 * Codes of the signed-approval protocol (docs/approval-format.md, docs/keys-and-kms.md):
 * - SNT_APPROVAL_*: verification rules, one code per rule, in the order the verifier applies them;
 * - SNT_SIGN_*: the signer's refusals (it is never a generic signing oracle);
 * - SNT_KEY_*: key records refused by the key registry;
 * - SNT_KMS_*: AWS KMS failures, transient ones retriable.
 */
export const APPROVAL_CODES = {
  // --- verification (executor, replay tool, any subscriber) ---------------------------------
  SNT_APPROVAL_MALFORMED: { status: 400, retriable: false, summary: 'The envelope or its payload cannot be parsed, or the payload does not match the approval schema.' },
  SNT_APPROVAL_PAYLOAD_TYPE: { status: 400, retriable: false, summary: 'The envelope payloadType is not the approval payload type.' },
  SNT_APPROVAL_KEY_UNKNOWN: { status: 400, retriable: false, summary: 'The key id is not in the key registry.' },
  SNT_APPROVAL_KEY_REVOKED: { status: 400, retriable: false, summary: 'The signing key (or, for a delegated key, its parent) is revoked.' },
  SNT_APPROVAL_SIGNATURE_INVALID: { status: 400, retriable: false, summary: 'The Ed25519 signature does not verify (or is not 64 bytes).' },
  SNT_APPROVAL_SIGNATURE_NONCANONICAL: { status: 400, retriable: false, summary: 'The signature is not canonically encoded: S >= L, or R is a non-canonical or small-order point encoding.' },
  SNT_APPROVAL_PAYLOAD_NONCANONICAL: { status: 400, retriable: false, summary: 'The payload bytes are valid JSON but not its RFC 8785 canonical form.' },
  SNT_APPROVAL_KEY_NOT_VALID: { status: 400, retriable: false, summary: 'The approval was issued outside the signing key\'s validity window.' },
  SNT_APPROVAL_AUDIENCE: { status: 400, retriable: false, summary: 'The approval is addressed to another audience.' },
  SNT_APPROVAL_ISSUER: { status: 400, retriable: false, summary: 'The approval was issued by an issuer this verifier does not accept.' },
  SNT_APPROVAL_TTL_TOO_LONG: { status: 400, retriable: false, summary: 'expiresAt - notBefore exceeds the verifier\'s maximum lifetime.' },
  SNT_APPROVAL_NOT_YET_VALID: { status: 400, retriable: false, summary: 'The approval is before notBefore (beyond the allowed clock skew).' },
  SNT_APPROVAL_EXPIRED: { status: 400, retriable: false, summary: 'The approval is past expiresAt (beyond the allowed clock skew).' },
  SNT_APPROVAL_DIGEST_MISMATCH: { status: 400, retriable: false, summary: 'The action digest (or action type) does not match the action about to run.' },
  SNT_APPROVAL_BINDING_MISMATCH: { status: 400, retriable: false, summary: 'The approval names another intent, decision or approval id than the event carrying it.' },
  SNT_APPROVAL_REPLAYED: { status: 409, retriable: false, summary: 'The approval id was already used.' },

  // --- signing refusals (signer, "Bridge") --------------------------------------------------
  SNT_SIGN_NOT_PERMITTED: { status: 403, retriable: false, summary: 'The decision does not permit signing this action.' },
  SNT_SIGN_DIGEST_MISMATCH: { status: 403, retriable: false, summary: 'The decision\'s actionDigest is not the digest of its action; nothing is signed.' },
  SNT_SIGN_HUMAN_DENIED: { status: 403, retriable: false, summary: 'An authorised approver denied the request.' },
  SNT_SIGN_AWAITING_APPROVALS: { status: 409, retriable: false, summary: 'Not enough distinct authorised approvals yet; nothing is signed.' },
  SNT_SIGN_DEADLINE_PASSED: { status: 403, retriable: false, summary: 'The human-approval deadline has passed without enough approvals.' },
  SNT_SIGN_PAYLOAD_INVALID: { status: 500, retriable: false, summary: 'The drafted approval does not satisfy the approval schema (e.g. over-long ids); nothing is signed.' },
  SNT_SIGN_PAYLOAD_TOO_LARGE: { status: 413, retriable: false, summary: 'The approval payload is larger than the format allows (4000 bytes).' },
  SNT_SIGN_NOT_APPROVER: { status: 403, retriable: false, summary: 'The person who answered an approval prompt is not an authorised approver of that request; the answer changes nothing.' },
  SNT_SIGN_SELF_APPROVAL: { status: 403, retriable: false, summary: 'The requester answered their own request, which this request does not allow (never at high risk); the answer changes nothing.' },
  SNT_SIGN_RESPONSE_INVALID: { status: 400, retriable: false, summary: 'An approval answer is inconsistent (ids, or platform evidence naming another identity than the approver), or an early "expired"; it changes nothing.' },
  SNT_SIGN_ALREADY_DECIDED: { status: 409, retriable: false, summary: 'The request was already approved, denied or expired, or this approver already answered; the answer changes nothing.' },

  // --- key registry -------------------------------------------------------------------------
  SNT_KEY_INVALID: { status: 400, retriable: false, summary: 'A public key is not a canonical, prime-order Ed25519 point, or its record is inconsistent.' },
  SNT_KEY_ID_MISMATCH: { status: 400, retriable: false, summary: 'A key record\'s id is not the id derived from its public key.' },
  SNT_KEY_CERTIFICATE_INVALID: { status: 400, retriable: false, summary: 'A delegated key\'s certificate does not verify against a registered parent key.' },

  // --- AWS KMS ------------------------------------------------------------------------------
  SNT_KMS_THROTTLED: { status: 429, retriable: true, summary: 'KMS throttled the request (request quota); retried with backoff, then refused.' },
  SNT_KMS_UNAVAILABLE: { status: 503, retriable: true, summary: 'KMS (or its key store) is unreachable, timed out or failed internally.' },
  SNT_KMS_KEY_DISABLED: { status: 500, retriable: false, summary: 'The KMS key is disabled.' },
  SNT_KMS_KEY_INVALID_STATE: { status: 500, retriable: false, summary: 'The KMS key is in a state that cannot sign (e.g. pending deletion or import).' },
  SNT_KMS_KEY_NOT_FOUND: { status: 500, retriable: false, summary: 'The KMS key id, ARN or alias does not exist.' },
  SNT_KMS_ACCESS_DENIED: { status: 500, retriable: false, summary: 'The signer\'s credentials may not use the KMS key.' },
  SNT_KMS_KEY_MISCONFIGURED: { status: 500, retriable: false, summary: 'The KMS key is not an ECC_NIST_EDWARDS25519 SIGN_VERIFY key supporting ED25519_SHA_512, or the request was refused as invalid.' },
  SNT_KMS_BAD_RESPONSE: { status: 502, retriable: false, summary: 'KMS answered with an unexpected key id, algorithm, key or signature; nothing is signed.' },
  SNT_KMS_MESSAGE_TOO_LARGE: { status: 413, retriable: false, summary: 'The message to sign exceeds the 4096 bytes KMS accepts for RAW Ed25519 signing.' },
  SNT_KMS_FAILED: { status: 500, retriable: false, summary: 'KMS failed with an error Sentinel does not classify; nothing is signed.' },
} as const satisfies Record<string, ErrorCodeSpec>;

export type ApprovalErrorCode = keyof typeof APPROVAL_CODES;
