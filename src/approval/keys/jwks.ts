// Publication forms of key records (docs/keys-and-kms.md §5). Pure.
// - JWKS view for GET /public-key and for other-language verifiers: RFC 7517/8037 members plus
//   Sentinel's lifecycle members (times are epoch milliseconds);
// - one record's serialisation, the value of the compacted key topic (key = kid): the JCS bytes of
//   its JWK entry.
import { canonicalBytes } from '../../canonical/jcs.ts';
import type { SigningKeyRecord } from '../../domain/types.ts';
import { SentinelError } from '../../errors/index.ts';
import { type EnvelopeJson, envelopeFromJson, envelopeToJson } from '../dsse.ts';
import { decodeBase64UrlStrict, encodeBase64Url } from '../encoding.ts';
import { parseStrictJson } from '../strict-json.ts';
import { type KeyRegistry, createKeyRegistry, listKeyRecords } from './registry.ts';

export interface JwkEntry {
  kid: string;
  kty: 'OKP';
  crv: 'Ed25519';
  /** Raw public key, unpadded base64url. */
  x: string;
  use: 'sig';
  alg: 'EdDSA';
  status: SigningKeyRecord['status'];
  notBefore: number;
  notAfter: number;
  revokedAt: number | null;
  createdAt: number;
  origin: string;
  /** For delegated keys: the parent's certificate, as a JSON DSSE envelope. */
  certificate: EnvelopeJson | null;
}

export interface Jwks {
  keys: JwkEntry[];
}

export function keyRecordToJwk(record: SigningKeyRecord): JwkEntry {
  return {
    kid: record.keyId,
    kty: 'OKP',
    crv: 'Ed25519',
    x: encodeBase64Url(record.publicKey),
    use: 'sig',
    alg: 'EdDSA',
    status: record.status,
    notBefore: record.notBefore,
    notAfter: record.notAfter,
    revokedAt: record.revokedAt,
    createdAt: record.createdAt,
    origin: record.origin,
    certificate: record.certificate === null ? null : envelopeToJson(record.certificate),
  };
}

function isRecordList(source: KeyRegistry | readonly SigningKeyRecord[]): source is readonly SigningKeyRecord[] {
  return Array.isArray(source);
}

/** The JWKS document of a registry (or of a list of records), oldest key first. */
export function toJwks(source: KeyRegistry | readonly SigningKeyRecord[]): Jwks {
  const records = isRecordList(source) ? [...source] : listKeyRecords(source);
  return { keys: records.map(keyRecordToJwk) };
}

function bad(message: string): never {
  throw new SentinelError('SNT_KEY_INVALID', `JWK: ${message}`);
}

/**
 * Reads a JWK entry back into a record (shape only; registerKey/createKeyRegistry then check the key
 * itself, its id and its certificate). Throws SentinelError SNT_KEY_INVALID.
 */
export function keyRecordFromJwk(value: unknown): SigningKeyRecord {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) bad('not an object');
  const j = value as Record<string, unknown>;
  if (j.kty !== 'OKP' || j.crv !== 'Ed25519') bad('kty must be OKP and crv Ed25519');
  if (j.alg !== undefined && j.alg !== 'EdDSA' && j.alg !== 'Ed25519') bad('alg must be EdDSA');
  if (j.use !== undefined && j.use !== 'sig') bad('use must be sig');
  if (typeof j.kid !== 'string') bad('kid must be a string');
  if (typeof j.x !== 'string') bad('x must be a string');
  const publicKey = decodeBase64UrlStrict(j.x);
  if (publicKey === null || publicKey.length !== 32) bad('x must be 32 bytes of unpadded base64url');
  const status = j.status;
  if (status !== 'active' && status !== 'retired' && status !== 'revoked') bad('status must be active, retired or revoked');
  const num = (name: string): number => {
    const v = j[name];
    if (typeof v !== 'number' || !Number.isSafeInteger(v)) bad(`${name} must be epoch milliseconds`);
    return v;
  };
  if (typeof j.origin !== 'string') bad('origin must be a string');
  let certificate: SigningKeyRecord['certificate'] = null;
  if (j.certificate !== null && j.certificate !== undefined) {
    const parsed = envelopeFromJson(j.certificate);
    if (!parsed.ok) bad(`certificate: ${parsed.reason}`);
    certificate = parsed.envelope;
  }
  return {
    keyId: j.kid,
    algorithm: 'ed25519',
    publicKey,
    status,
    notBefore: num('notBefore'),
    notAfter: num('notAfter'),
    revokedAt: j.revokedAt === null || j.revokedAt === undefined ? null : num('revokedAt'),
    createdAt: num('createdAt'),
    origin: j.origin,
    certificate,
  };
}

/** Builds (and fully validates) a registry from a JWKS document. */
export function registryFromJwks(value: unknown): KeyRegistry {
  if (typeof value !== 'object' || value === null || !Array.isArray((value as { keys?: unknown }).keys)) bad('a JWKS document has a keys array');
  return createKeyRegistry((value as { keys: unknown[] }).keys.map(keyRecordFromJwk));
}

/** The value of a record on the compacted key topic: RFC 8785 JSON of its JWK entry. */
export function serializeKeyRecord(record: SigningKeyRecord): Buffer {
  return canonicalBytes(keyRecordToJwk(record));
}

export function parseKeyRecord(bytes: Uint8Array): SigningKeyRecord {
  const parsed = parseStrictJson(bytes);
  if (!parsed.ok) bad(`not strict JSON: ${parsed.reason}`);
  return keyRecordFromJwk(parsed.value);
}
