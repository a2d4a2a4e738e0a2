// Delegation certificates (docs/keys-and-kms.md §4): a parent key (normally the KMS key) certifies a
// short-lived Ed25519 key held only in the signer's memory. The certificate is a DSSE envelope,
// signed by the parent over PAE(DELEGATION_PAYLOAD_TYPE, JCS(certificate)). Pure.
import type { KeyObject } from 'node:crypto';
import { canonicalBytes } from '../../canonical/jcs.ts';
import type { Envelope, EpochMillis } from '../../domain/types.ts';
import { preAuthEncoding } from '../dsse.ts';
import { decodeBase64UrlStrict } from '../encoding.ts';
import { verifyStrict } from '../ed25519.ts';
import { parseStrictJson } from '../strict-json.ts';
import { KEY_ID_PATTERN, deriveKeyId } from './key-id.ts';

export const DELEGATION_PAYLOAD_TYPE = 'application/vnd.aureus.key-delegation+json; version=1';
export const DELEGATION_PURPOSE = 'approval-signing';
/** A delegated key lives at most this long (validity window notAfter - notBefore). */
export const MAX_DELEGATION_MS = 24 * 3_600_000;

export interface DelegationCertificate {
  /** Key id of the delegated key (derived from publicKey). */
  delegatedKeyId: string;
  /** Raw 32-byte public key, unpadded base64url (as JWK `x`). */
  publicKey: string;
  parentKeyId: string;
  issuedAt: EpochMillis;
  notBefore: EpochMillis;
  notAfter: EpochMillis;
  purpose: typeof DELEGATION_PURPOSE;
}

export function encodeDelegationCertificate(cert: DelegationCertificate): Buffer {
  return canonicalBytes(cert);
}

export type CertificateCheck = { ok: true; certificate: DelegationCertificate; publicKey: Buffer } | { ok: false; reason: string };

const CERT_KEYS = ['delegatedKeyId', 'publicKey', 'parentKeyId', 'issuedAt', 'notBefore', 'notAfter', 'purpose'];

function isMillis(v: unknown): v is number {
  return typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;
}

/** Parses certificate bytes: strict JSON, exact members, canonical bytes, consistent key id and window. */
export function decodeDelegationCertificate(bytes: Uint8Array): CertificateCheck {
  const parsed = parseStrictJson(bytes);
  if (!parsed.ok) return { ok: false, reason: `certificate is not strict JSON: ${parsed.reason}` };
  const v = parsed.value;
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return { ok: false, reason: 'certificate is not an object' };
  const o = v as Record<string, unknown>;
  const keys = Object.keys(o);
  if (keys.length !== CERT_KEYS.length || !CERT_KEYS.every((k) => Object.hasOwn(o, k))) {
    return { ok: false, reason: `certificate members must be exactly ${CERT_KEYS.join(', ')}` };
  }
  const { delegatedKeyId, publicKey, parentKeyId, issuedAt, notBefore, notAfter, purpose } = o;
  if (typeof delegatedKeyId !== 'string' || !KEY_ID_PATTERN.test(delegatedKeyId)) return { ok: false, reason: 'delegatedKeyId is not a key id' };
  if (typeof parentKeyId !== 'string' || !KEY_ID_PATTERN.test(parentKeyId)) return { ok: false, reason: 'parentKeyId is not a key id' };
  if (typeof publicKey !== 'string') return { ok: false, reason: 'publicKey is not a string' };
  const raw = decodeBase64UrlStrict(publicKey);
  if (raw === null || raw.length !== 32) return { ok: false, reason: 'publicKey is not 32 bytes of unpadded base64url' };
  if (deriveKeyId(raw) !== delegatedKeyId) return { ok: false, reason: 'delegatedKeyId is not the id of publicKey' };
  if (!isMillis(issuedAt) || !isMillis(notBefore) || !isMillis(notAfter)) return { ok: false, reason: 'times must be epoch milliseconds' };
  if (purpose !== DELEGATION_PURPOSE) return { ok: false, reason: `purpose must be "${DELEGATION_PURPOSE}"` };
  if (notBefore < issuedAt || notAfter <= notBefore) return { ok: false, reason: 'window must satisfy issuedAt <= notBefore < notAfter' };
  if (notAfter - notBefore > MAX_DELEGATION_MS) return { ok: false, reason: `window is longer than ${MAX_DELEGATION_MS} ms` };
  const certificate: DelegationCertificate = { delegatedKeyId, publicKey, parentKeyId, issuedAt, notBefore, notAfter, purpose };
  if (!canonicalBytes(certificate).equals(bytes)) return { ok: false, reason: 'certificate bytes are not canonical' };
  return { ok: true, certificate, publicKey: raw };
}

/** Verifies a certificate envelope against its parent's key (the caller looked the parent up by id). */
export function verifyDelegationCertificate(envelope: Envelope, parentKeyId: string, parentKey: KeyObject): CertificateCheck {
  if (envelope.payloadType !== DELEGATION_PAYLOAD_TYPE) return { ok: false, reason: 'certificate has the wrong payloadType' };
  if (envelope.signatures.length !== 1) return { ok: false, reason: 'certificate must carry exactly one signature' };
  const [signature] = envelope.signatures;
  if (signature === undefined || signature.keyid !== parentKeyId) return { ok: false, reason: 'certificate is not signed by the named parent key' };
  const decoded = decodeDelegationCertificate(envelope.payload);
  if (!decoded.ok) return decoded;
  if (decoded.certificate.parentKeyId !== parentKeyId) return { ok: false, reason: 'certificate names another parent key' };
  const result = verifyStrict(parentKey, preAuthEncoding(envelope.payloadType, envelope.payload), signature.sig);
  if (result !== 'ok') return { ok: false, reason: `parent signature is ${result === 'noncanonical' ? 'not canonical' : 'invalid'}` };
  return decoded;
}
