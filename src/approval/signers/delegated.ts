// Delegated mode (docs/keys-and-kms.md §4): the KMS key certifies a short-lived Ed25519 key that lives
// only in this process's memory, and approvals are signed locally with it. One KMS call per key
// (per hour by default) instead of one per approval; verifiers check the chain from the KMS key
// (the delegated key's record carries the certificate; the key registry verifies it on registration).
import type { Envelope, EpochMillis, SigningKeyRecord } from '../../domain/types.ts';
import { SentinelError } from '../../errors/index.ts';
import { preAuthEncoding } from '../dsse.ts';
import { encodeBase64Url } from '../encoding.ts';
import {
  DELEGATION_PAYLOAD_TYPE, DELEGATION_PURPOSE, MAX_DELEGATION_MS,
  type DelegationCertificate, encodeDelegationCertificate,
} from '../keys/certificate.ts';
import type { KeyOrigin } from '../keys/registry.ts';
import { newKeyRecord } from '../keys/rotation.ts';
import { LocalEd25519Signer } from './local.ts';
import type { Signer, SignerSource } from './signer.ts';

export const DEFAULT_DELEGATION_MS = 3_600_000;
export const DEFAULT_RENEW_BEFORE_MS = 5 * 60_000;

export class DelegatedSigner implements Signer {
  readonly keyId: string;
  readonly publicKey: Buffer;
  readonly origin: KeyOrigin = 'kms-delegated';
  readonly parentKeyId: string;
  readonly certificate: Envelope;
  /** The record to publish (compacted key topic) before this key signs anything. */
  readonly record: SigningKeyRecord;
  readonly #key: LocalEd25519Signer;

  constructor(key: LocalEd25519Signer, parentKeyId: string, certificate: Envelope, record: SigningKeyRecord) {
    this.#key = key;
    this.keyId = key.keyId;
    this.publicKey = key.publicKey;
    this.parentKeyId = parentKeyId;
    this.certificate = certificate;
    this.record = record;
  }

  get notBefore(): EpochMillis { return this.record.notBefore; }
  get notAfter(): EpochMillis { return this.record.notAfter; }

  sign(data: Buffer): Promise<Buffer> {
    return this.#key.sign(data);
  }

  toJSON(): { keyId: string; origin: KeyOrigin; parentKeyId: string; notAfter: EpochMillis } {
    return { keyId: this.keyId, origin: this.origin, parentKeyId: this.parentKeyId, notAfter: this.notAfter };
  }
}

export interface DelegateOptions {
  now: EpochMillis;
  validityMs?: number;
  /** The key to certify (tests and vectors pass a seeded one); default: a fresh random key. */
  key?: LocalEd25519Signer;
}

/** Has `parent` (the KMS signer) certify a new in-memory key valid for [now, now + validityMs]. */
export async function delegateKey(parent: Signer, options: DelegateOptions): Promise<DelegatedSigner> {
  const validityMs = options.validityMs ?? DEFAULT_DELEGATION_MS;
  if (!Number.isSafeInteger(validityMs) || validityMs <= 0 || validityMs > MAX_DELEGATION_MS) {
    throw new RangeError(`delegation validity must be 1..${MAX_DELEGATION_MS} ms, got ${validityMs}`);
  }
  if (parent.origin === 'kms-delegated') throw new TypeError('a delegated key cannot certify another key');
  const key = options.key ?? LocalEd25519Signer.generate('kms-delegated');
  const certificate: DelegationCertificate = {
    delegatedKeyId: key.keyId,
    publicKey: encodeBase64Url(key.publicKey),
    parentKeyId: parent.keyId,
    issuedAt: options.now,
    notBefore: options.now,
    notAfter: options.now + validityMs,
    purpose: DELEGATION_PURPOSE,
  };
  const payload = encodeDelegationCertificate(certificate);
  const sig = await parent.sign(preAuthEncoding(DELEGATION_PAYLOAD_TYPE, payload));
  const envelope: Envelope = { payloadType: DELEGATION_PAYLOAD_TYPE, payload, signatures: [{ keyid: parent.keyId, sig }] };
  const record = newKeyRecord({
    publicKey: key.publicKey, origin: 'kms-delegated', now: options.now, notAfter: certificate.notAfter, certificate: envelope,
  });
  return new DelegatedSigner(key, parent.keyId, envelope, record);
}

export interface DelegatingSignerSourceOptions {
  parent: Signer;
  validityMs?: number;
  /** Renew this long before the current key's notAfter. */
  renewBeforeMs?: number;
  /** Wall clock (adapter); default Date.now. */
  clock?: () => EpochMillis;
  /**
   * Called with each new key's record before that key signs anything; must resolve only once the
   * record is durably published (e.g. acknowledged on the compacted key topic), so that verifiers
   * can know the key before they see an approval signed with it.
   */
  publish?: (record: SigningKeyRecord) => Promise<void>;
}

/**
 * The delegated mode's SignerSource: answers the current delegated key, renewing it (one KMS Sign)
 * when it is within renewBeforeMs of its end. Renewal is single-flight. If renewal fails while the
 * current key is still valid, the current key keeps signing and the next call retries; once it has
 * expired, the KMS error is thrown and nothing is signed.
 */
export class DelegatingSignerSource implements SignerSource {
  readonly #parent: Signer;
  readonly #validityMs: number;
  readonly #renewBeforeMs: number;
  readonly #clock: () => EpochMillis;
  readonly #publish: (record: SigningKeyRecord) => Promise<void>;
  #current: DelegatedSigner | null = null;
  #renewing: Promise<DelegatedSigner> | null = null;

  constructor(options: DelegatingSignerSourceOptions) {
    this.#parent = options.parent;
    this.#validityMs = options.validityMs ?? DEFAULT_DELEGATION_MS;
    this.#renewBeforeMs = options.renewBeforeMs ?? DEFAULT_RENEW_BEFORE_MS;
    if (this.#renewBeforeMs >= this.#validityMs) throw new RangeError('renewBeforeMs must be shorter than validityMs');
    this.#clock = options.clock ?? Date.now;
    this.#publish = options.publish ?? (() => Promise.resolve());
  }

  /** The key currently signing, if any (for /public-key and metrics). */
  get currentSigner(): DelegatedSigner | null {
    return this.#current;
  }

  async current(): Promise<Signer> {
    const now = this.#clock();
    const current = this.#current;
    if (current !== null && now < current.notAfter - this.#renewBeforeMs && now >= current.notBefore) return current;
    try {
      return await this.#renew();
    } catch (error) {
      if (current !== null && now < current.notAfter && now >= current.notBefore) return current;
      if (error instanceof SentinelError) throw error;
      throw new SentinelError('SNT_KMS_FAILED', 'could not certify a delegated signing key', { cause: error });
    }
  }

  #renew(): Promise<DelegatedSigner> {
    if (this.#renewing === null) {
      this.#renewing = (async () => {
        const next = await delegateKey(this.#parent, { now: this.#clock(), validityMs: this.#validityMs });
        await this.#publish(next.record);
        this.#current = next;
        return next;
      })().finally(() => {
        this.#renewing = null;
      });
    }
    return this.#renewing;
  }
}
