// Key lifecycle policy (docs/keys-and-kms.md §3). Pure: the caller passes the time.
// A signing key is used for `rotationMs` (monthly by default), then replaced; the old key is
// retired, not deleted, so everything it signed stays verifiable. `graceMs` is how long past its
// due date a key keeps being accepted if rotation fails: after that, approvals it signs are refused
// by every verifier (SNT_APPROVAL_KEY_NOT_VALID), which turns a stuck rotation into a visible outage
// instead of a key that silently lives forever.
import type { Envelope, EpochMillis, SigningKeyRecord } from '../../domain/types.ts';
import { deriveKeyId } from './key-id.ts';
import { type KeyOrigin, type KeyRegistry, registerKey, retireKey } from './registry.ts';

export interface RotationPolicy {
  /** Age after which a signing key is replaced. */
  rotationMs: number;
  /** Validity beyond rotationMs, so that a late rotation does not stop signing at once. */
  graceMs: number;
  /** Rotate this long before the key's notAfter at the latest. */
  renewBeforeMs: number;
}

const DAY = 86_400_000;

/** Monthly rotation (KEY_ROTATION_DAYS=30), 7 days of grace, renew at least 1 day before notAfter. */
export const DEFAULT_ROTATION_POLICY: RotationPolicy = { rotationMs: 30 * DAY, graceMs: 7 * DAY, renewBeforeMs: DAY };

export function rotationPolicyFromDays(days: number): RotationPolicy {
  if (!Number.isFinite(days) || days <= 0) throw new RangeError(`rotation period must be a positive number of days, got ${days}`);
  return { ...DEFAULT_ROTATION_POLICY, rotationMs: Math.round(days * DAY) };
}

export interface NewKeyRecordInput {
  publicKey: Buffer;
  origin: KeyOrigin;
  now: EpochMillis;
  policy?: RotationPolicy;
  /** Overrides the policy's window end (delegated keys use their certificate's). */
  notAfter?: EpochMillis;
  certificate?: Envelope | null;
}

/** The record of a key that starts signing now. */
export function newKeyRecord(input: NewKeyRecordInput): SigningKeyRecord {
  const policy = input.policy ?? DEFAULT_ROTATION_POLICY;
  return {
    keyId: deriveKeyId(input.publicKey),
    algorithm: 'ed25519',
    publicKey: Buffer.from(input.publicKey),
    status: 'active',
    notBefore: input.now,
    notAfter: input.notAfter ?? input.now + policy.rotationMs + policy.graceMs,
    revokedAt: null,
    createdAt: input.now,
    origin: input.origin,
    certificate: input.certificate ?? null,
  };
}

export type RotationReason = 'age' | 'expiring' | 'not_active' | 'on_demand';

/** Whether the key a signer uses must be replaced now, and why. */
export function rotationDue(
  record: SigningKeyRecord,
  now: EpochMillis,
  policy: RotationPolicy = DEFAULT_ROTATION_POLICY,
  onDemand = false,
): { due: true; reason: RotationReason } | { due: false } {
  if (onDemand) return { due: true, reason: 'on_demand' };
  if (record.status !== 'active') return { due: true, reason: 'not_active' };
  if (now >= record.notAfter - policy.renewBeforeMs) return { due: true, reason: 'expiring' };
  if (now - record.notBefore >= policy.rotationMs) return { due: true, reason: 'age' };
  return { due: false };
}

/** Registers `next` and retires `retiring` at `now`. Both stay in the registry for verification. */
export function rotateKey(registry: KeyRegistry, retiring: string | null, next: SigningKeyRecord, now: EpochMillis): KeyRegistry {
  const withNext = registerKey(registry, next);
  return retiring === null || retiring === next.keyId ? withNext : retireKey(withNext, retiring, now);
}
