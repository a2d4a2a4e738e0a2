// The key registry model (docs/keys-and-kms.md §2). Pure and immutable: every change returns a new
// registry. Each registered key is validated once (canonical prime-order point, derived id,
// consistent record, delegation chain) and gets its KeyObject built once, here, not per verify.
import type { KeyObject } from 'node:crypto';
import type { EpochMillis, KeyStatus, SigningKeyRecord } from '../../domain/types.ts';
import { SentinelError } from '../../errors/index.ts';
import { publicKeyObject, publicKeyProblem } from '../ed25519.ts';
import { verifyDelegationCertificate } from './certificate.ts';
import { KEY_ID_PATTERN, deriveKeyId } from './key-id.ts';

export type KeyOrigin = 'local' | 'kms' | 'kms-delegated';
export const KEY_ORIGINS: readonly KeyOrigin[] = ['local', 'kms', 'kms-delegated'];
const KEY_STATUSES: readonly KeyStatus[] = ['active', 'retired', 'revoked'];

export interface RegisteredKey {
  readonly record: SigningKeyRecord;
  /** node:crypto public key, built once at registration. */
  readonly key: KeyObject;
  /** For a delegated key: the key that certified it. */
  readonly parentKeyId: string | null;
}

export interface KeyRegistry {
  readonly entries: ReadonlyMap<string, RegisteredKey>;
}

export function emptyKeyRegistry(): KeyRegistry {
  return { entries: new Map() };
}

function invalid(message: string, keyId: unknown): never {
  throw new SentinelError('SNT_KEY_INVALID', message, { details: { keyId: typeof keyId === 'string' ? keyId : null } });
}

function isMillis(v: unknown): v is number {
  return typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;
}

function checkRecordShape(record: SigningKeyRecord): void {
  const id = record.keyId;
  if (typeof id !== 'string' || !KEY_ID_PATTERN.test(id)) invalid('keyId is not a key id (43 base64url characters)', id);
  if (record.algorithm !== 'ed25519') invalid(`algorithm must be ed25519, got ${String(record.algorithm)}`, id);
  if (!Buffer.isBuffer(record.publicKey)) invalid('publicKey must be a Buffer of 32 bytes', id);
  const problem = publicKeyProblem(record.publicKey);
  if (problem !== null) invalid(`publicKey is not acceptable: ${problem.replaceAll('_', ' ')}`, id);
  if (deriveKeyId(record.publicKey) !== id) {
    throw new SentinelError('SNT_KEY_ID_MISMATCH', 'keyId is not the RFC 7638 thumbprint of publicKey', { details: { keyId: id } });
  }
  if (!KEY_STATUSES.includes(record.status)) invalid(`status must be one of ${KEY_STATUSES.join(', ')}`, id);
  for (const field of ['notBefore', 'notAfter', 'createdAt'] as const) {
    if (!isMillis(record[field])) invalid(`${field} must be epoch milliseconds`, id);
  }
  if (record.notAfter < record.notBefore) invalid('notAfter is before notBefore', id);
  if (record.revokedAt !== null && !isMillis(record.revokedAt)) invalid('revokedAt must be null or epoch milliseconds', id);
  if ((record.status === 'revoked') !== (record.revokedAt !== null)) invalid('revokedAt is set exactly when status is revoked', id);
  if (!(KEY_ORIGINS as readonly string[]).includes(record.origin)) invalid(`origin must be one of ${KEY_ORIGINS.join(', ')}`, id);
  if ((record.origin === 'kms-delegated') !== (record.certificate !== null)) invalid('a certificate is present exactly for kms-delegated keys', id);
}

function checkDelegation(registry: KeyRegistry, record: SigningKeyRecord): string | null {
  if (record.certificate === null) return null;
  const parentKeyId = record.certificate.signatures[0]?.keyid ?? '';
  const parent = registry.entries.get(parentKeyId);
  const fail = (reason: string): never => {
    throw new SentinelError('SNT_KEY_CERTIFICATE_INVALID', `delegated key ${record.keyId}: ${reason}`, { details: { keyId: record.keyId, parentKeyId } });
  };
  if (parent === undefined) return fail('its parent key is not registered');
  if (parent.parentKeyId !== null) return fail('a delegated key cannot certify another key');
  const checked = verifyDelegationCertificate(record.certificate, parentKeyId, parent.key);
  if (!checked.ok) return fail(checked.reason);
  const cert = checked.certificate;
  if (cert.delegatedKeyId !== record.keyId || !checked.publicKey.equals(record.publicKey)) return fail('the certificate is for another key');
  if (cert.notBefore !== record.notBefore || record.notAfter > cert.notAfter) return fail('the record\'s window is not the certificate\'s');
  const p = parent.record;
  if (cert.issuedAt < p.notBefore || cert.issuedAt > p.notAfter) return fail('the certificate was issued outside the parent\'s validity window');
  return parentKeyId;
}

const SEVERITY: Record<KeyStatus, number> = { active: 0, retired: 1, revoked: 2 };

/**
 * Merges a new version of a record into the registered one. The first publication fixes notBefore
 * and createdAt (a signer that re-publishes its key after a restart changes nothing); status and
 * notAfter only move towards retired/revoked/earlier; the origin can never change.
 */
function merge(existing: SigningKeyRecord, incoming: SigningKeyRecord): SigningKeyRecord {
  if (existing.origin !== incoming.origin) invalid(`a record with this key id is registered with origin ${existing.origin}`, incoming.keyId);
  const revokedAt = existing.revokedAt === null ? incoming.revokedAt
    : incoming.revokedAt === null ? existing.revokedAt : Math.min(existing.revokedAt, incoming.revokedAt);
  const status = SEVERITY[incoming.status] > SEVERITY[existing.status] ? incoming.status : existing.status;
  return {
    ...existing,
    status,
    revokedAt: status === 'revoked' ? revokedAt : null,
    notAfter: Math.max(existing.notBefore, Math.min(existing.notAfter, incoming.notAfter)),
  };
}

/**
 * Registers a key record, or merges a newer version of an already registered one (status and
 * notAfter can only move towards retired/revoked/earlier). Throws SentinelError SNT_KEY_INVALID,
 * SNT_KEY_ID_MISMATCH or SNT_KEY_CERTIFICATE_INVALID; the registry passed in is never changed.
 */
export function registerKey(registry: KeyRegistry, record: SigningKeyRecord): KeyRegistry {
  checkRecordShape(record);
  const existing = registry.entries.get(record.keyId);
  const parentKeyId = checkDelegation(registry, record);
  const merged = existing === undefined ? { ...record } : merge(existing.record, record);
  const entries = new Map(registry.entries);
  entries.set(record.keyId, {
    record: Object.freeze(merged),
    key: existing?.key ?? publicKeyObject(record.publicKey),
    parentKeyId,
  });
  return { entries };
}

/** Builds a registry from records in any order (parents are registered before the keys they certify). */
export function createKeyRegistry(records: readonly SigningKeyRecord[]): KeyRegistry {
  const ordered = [...records].sort((a, b) => Number(a.certificate !== null) - Number(b.certificate !== null));
  return ordered.reduce(registerKey, emptyKeyRegistry());
}

function update(registry: KeyRegistry, keyId: string, change: (r: SigningKeyRecord) => SigningKeyRecord): KeyRegistry {
  const entry = registry.entries.get(keyId);
  if (entry === undefined) throw new SentinelError('SNT_NOT_FOUND', `no key ${keyId} in the registry`, { details: { keyId } });
  const entries = new Map(registry.entries);
  entries.set(keyId, { ...entry, record: Object.freeze(change(entry.record)) });
  return { entries };
}

/** Revokes a key from `at` on (one-way). Approvals under it, and under keys it certified, stop verifying. */
export function revokeKey(registry: KeyRegistry, keyId: string, at: EpochMillis): KeyRegistry {
  return update(registry, keyId, (r) => ({
    ...r, status: 'revoked', revokedAt: r.revokedAt === null ? at : Math.min(r.revokedAt, at),
  }));
}

/**
 * Retires a key at `at`: it signs nothing issued after `at` (notAfter moves to `at` if earlier) but
 * keeps verifying what it signed before, so history and in-flight approvals stay verifiable.
 */
export function retireKey(registry: KeyRegistry, keyId: string, at: EpochMillis): KeyRegistry {
  return update(registry, keyId, (r) => ({
    ...r,
    status: r.status === 'revoked' ? 'revoked' : 'retired',
    notAfter: Math.max(r.notBefore, Math.min(r.notAfter, at)),
  }));
}

export function findKey(registry: KeyRegistry, keyId: string): RegisteredKey | undefined {
  return registry.entries.get(keyId);
}

/** Whether a registered key cannot be trusted: it, or for a delegated key its parent, is revoked. */
export function isRevoked(registry: KeyRegistry, entry: RegisteredKey): boolean {
  if (entry.record.status === 'revoked') return true;
  if (entry.parentKeyId === null) return false;
  const parent = registry.entries.get(entry.parentKeyId);
  return parent === undefined || parent.record.status === 'revoked';
}

/**
 * The registry as it stood at time T, for replay and audit: keys created after T are absent; a key
 * is revoked only if it was revoked at or before T; other keys are active until their notAfter and
 * retired after it.
 */
export function registryAsOf(registry: KeyRegistry, at: EpochMillis): KeyRegistry {
  const entries = new Map<string, RegisteredKey>();
  for (const [keyId, entry] of registry.entries) {
    const r = entry.record;
    if (r.createdAt > at) continue;
    if (entry.parentKeyId !== null) {
      const parent = registry.entries.get(entry.parentKeyId);
      if (parent === undefined || parent.record.createdAt > at) continue;
    }
    const revoked = r.revokedAt !== null && r.revokedAt <= at;
    const status: KeyStatus = revoked ? 'revoked' : at > r.notAfter ? 'retired' : 'active';
    entries.set(keyId, { ...entry, record: Object.freeze({ ...r, status, revokedAt: revoked ? r.revokedAt : null }) });
  }
  return { entries };
}

/** All records, oldest first (stable order for publication and JWKS). */
export function listKeyRecords(registry: KeyRegistry): SigningKeyRecord[] {
  return [...registry.entries.values()]
    .map((e) => e.record)
    .sort((a, b) => a.createdAt - b.createdAt || (a.keyId < b.keyId ? -1 : a.keyId > b.keyId ? 1 : 0));
}

export interface KeyBatchResult {
  registry: KeyRegistry;
  /** Records refused (invalid, or certified by a parent that is not in the batch or the registry). */
  rejected: Array<{ record: SigningKeyRecord; error: SentinelError }>;
}

/**
 * Registers a batch of records in any order (as a consumer of the compacted key topic receives them
 * across partitions): a delegated key whose parent arrives later in the batch is retried after it.
 * Never throws for a bad record; each refusal is returned with its SentinelError.
 */
export function registerKeys(registry: KeyRegistry, records: readonly SigningKeyRecord[]): KeyBatchResult {
  let current = registry;
  let pending = [...records];
  for (;;) {
    const failed: KeyBatchResult['rejected'] = [];
    for (const record of pending) {
      try {
        current = registerKey(current, record);
      } catch (error) {
        if (!(error instanceof SentinelError)) throw error;
        failed.push({ record, error });
      }
    }
    if (failed.length === 0 || failed.length === pending.length) return { registry: current, rejected: failed };
    pending = failed.map((f) => f.record);
  }
}
