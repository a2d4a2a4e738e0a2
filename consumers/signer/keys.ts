// The signer's keys (docs/keys-and-kms.md): the signing backend chosen by USE_KMS / KMS_MODE /
// SIGNING_KEY_FILE, publication of every public key record (PostgreSQL, then the compacted
// sentinel.signing-keys topic, acknowledged) before the key signs anything, and rotation:
// automatic once the key is KEY_ROTATION_DAYS old (checked at start and on a timer) and on demand
// (POST /admin/keys/rotate, `sentinel keys rotate`). A replaced key is re-published as `retired`
// (never deleted), so everything it signed stays verifiable.
//
// What "a new key" means per backend:
// - local, ephemeral (development): a freshly generated key;
// - local, SIGNING_KEY_FILE: the key now in the file (deploy a new PEM first; same key = 409);
// - KMS direct: the key KMS_KEY_ID resolves to now (create a key, re-point the alias; same = 409);
// - KMS delegated: a new delegated key certified by the KMS key (and a new KMS key if the alias
//   moved). Delegated keys also renew by themselves before they expire (DelegatingSignerSource).
import type { KMSClient } from '@aws-sdk/client-kms';
import { createKeyRegistry, findKey, type KeyRegistry } from '../../src/approval/keys/registry.ts';
import { newKeyRecord, rotationDue, type RotationPolicy, type RotationReason } from '../../src/approval/keys/rotation.ts';
import { DelegatingSignerSource } from '../../src/approval/signers/delegated.ts';
import { KmsSigner, createKmsClient } from '../../src/approval/signers/kms.ts';
import { LocalEd25519Signer } from '../../src/approval/signers/local.ts';
import { staticSignerSource, type Signer, type SignerSource } from '../../src/approval/signers/signer.ts';
import type { Config } from '../../src/config/index.ts';
import type { SigningKeyRecord } from '../../src/domain/types.ts';
import { SentinelError } from '../../src/errors/index.ts';
import type { Logger } from '../../src/observability/log.ts';
import type { SignerStore } from './store.ts';

export type SigningMode = 'local' | 'kms' | 'kms-delegated';

export interface KeyManagerOptions {
  signing: Config['signing'];
  store: Pick<SignerStore, 'saveKey' | 'getKey' | 'listKeys'>;
  /** Publishes a record on the compacted key topic; resolves once it is durably written. */
  publish: (record: SigningKeyRecord) => Promise<void>;
  policy: RotationPolicy;
  clock: () => number;
  logger: Logger;
  /** A KMS client (tests); default: one from the configuration (KMS_ENDPOINT, AWS_REGION). */
  kmsClient?: KMSClient;
  delegationValidityMs?: number;
  onRotated?: (reason: RotationReason, previous: string, current: string) => void;
}

export interface RotationResult {
  rotated: boolean;
  reason: RotationReason | null;
  previousKeyId: string;
  currentKeyId: string;
  /** For a root key that is due but cannot be replaced from here (same key file / KMS key). */
  message?: string;
}

function retired(record: SigningKeyRecord, at: number): SigningKeyRecord {
  return {
    ...record,
    status: record.status === 'revoked' ? 'revoked' : 'retired',
    notAfter: Math.max(record.notBefore, Math.min(record.notAfter, at)),
  };
}

export class KeyManager implements SignerSource {
  readonly mode: SigningMode;
  readonly #options: KeyManagerOptions;
  readonly #kms: KMSClient | null;
  #root: Signer;
  #rootRecord: SigningKeyRecord;
  #source: SignerSource;
  /** Delegated mode: the record of the delegated key currently signing. */
  #delegated: SigningKeyRecord | null = null;
  #registry: KeyRegistry | null = null;
  #timer: NodeJS.Timeout | null = null;
  #rotating: Promise<RotationResult> | null = null;

  private constructor(options: KeyManagerOptions, mode: SigningMode, kms: KMSClient | null, root: Signer, rootRecord: SigningKeyRecord) {
    this.#options = options;
    this.mode = mode;
    this.#kms = kms;
    this.#root = root;
    this.#rootRecord = rootRecord;
    this.#source = staticSignerSource(root);
  }

  /** Loads the key, publishes its record (and, in delegated mode, the first delegated key's). */
  static async start(options: KeyManagerOptions): Promise<KeyManager> {
    const signing = options.signing;
    const mode: SigningMode = !signing.useKms ? 'local' : signing.kmsMode === 'delegated' ? 'kms-delegated' : 'kms';
    const kms = signing.useKms ? options.kmsClient ?? createKmsClient({ region: signing.awsRegion, endpoint: signing.kmsEndpoint }) : null;
    const root = await KeyManager.#loadRoot(signing, kms);
    const manager = new KeyManager(options, mode, kms, root, await KeyManager.#recordFor(options, root));
    await manager.#publish(manager.#rootRecord);
    if (mode === 'kms-delegated') {
      manager.#source = manager.#delegatingSource(root);
      await manager.#source.current();
    }
    options.logger.info({ mode, keyId: root.keyId, notAfter: manager.#rootRecord.notAfter }, 'signing key published');
    return manager;
  }

  static async #loadRoot(signing: Config['signing'], kms: KMSClient | null): Promise<Signer> {
    if (kms !== null) return KmsSigner.create({ client: kms, kmsKeyId: signing.kmsKeyId });
    return signing.keyFile === '' ? LocalEd25519Signer.generate() : LocalEd25519Signer.fromPemFile(signing.keyFile);
  }

  /** The record of a root key: the one published before (a restart keeps its window), else a new one. */
  static async #recordFor(options: KeyManagerOptions, signer: Signer): Promise<SigningKeyRecord> {
    const known = await options.store.getKey(signer.keyId);
    if (known !== null) return known;
    return newKeyRecord({ publicKey: signer.publicKey, origin: signer.origin, now: options.clock(), policy: options.policy });
  }

  #delegatingSource(parent: Signer): DelegatingSignerSource {
    const options: ConstructorParameters<typeof DelegatingSignerSource>[0] = {
      parent,
      clock: this.#options.clock,
      publish: async (record) => {
        const previous = this.#delegated;
        await this.#publish(record);
        if (previous !== null && previous.keyId !== record.keyId) await this.#publish(retired(previous, this.#options.clock()));
        this.#delegated = record;
      },
    };
    if (this.#options.delegationValidityMs !== undefined) options.validityMs = this.#options.delegationValidityMs;
    return new DelegatingSignerSource(options);
  }

  async #publish(record: SigningKeyRecord): Promise<void> {
    await this.#options.store.saveKey(record);
    await this.#options.publish(record);
    this.#registry = null;
  }

  /** The signer of the next signature (SignerSource). */
  current(): Promise<Signer> {
    return this.#source.current();
  }

  /** The long-lived key (local or KMS) and its record. */
  get root(): { signer: Signer; record: SigningKeyRecord } {
    return { signer: this.#root, record: this.#rootRecord };
  }

  /** The record of the key signing now (the delegated key in delegated mode). */
  currentRecord(): SigningKeyRecord {
    return this.#delegated ?? this.#rootRecord;
  }

  /** Every key this signer (and its sibling instances) published, for GET /public-key and /verify. */
  async registry(refresh = false): Promise<KeyRegistry> {
    if (this.#registry === null || refresh) this.#registry = createKeyRegistry(await this.#options.store.listKeys());
    return this.#registry;
  }

  /** A registry that knows `keyId` if any signer published it (re-reads once when it is unknown). */
  async registryFor(keyId: string): Promise<KeyRegistry> {
    const registry = await this.registry();
    return findKey(registry, keyId) === undefined ? this.registry(true) : registry;
  }

  /** Rotates now (on demand), or when due (timer and start-up). Single-flight. */
  rotate(onDemand: boolean): Promise<RotationResult> {
    this.#rotating ??= this.#rotate(onDemand).finally(() => { this.#rotating = null; });
    return this.#rotating;
  }

  async #rotate(onDemand: boolean): Promise<RotationResult> {
    const now = this.#options.clock();
    const previousKeyId = this.currentRecord().keyId;
    const due = rotationDue(this.#rootRecord, now, this.#options.policy, onDemand);
    if (!due.due) return { rotated: false, reason: null, previousKeyId, currentKeyId: previousKeyId };

    const candidate = this.mode === 'local' && this.#options.signing.keyFile === ''
      ? LocalEd25519Signer.generate()
      : await KeyManager.#loadRoot(this.#options.signing, this.#kms);
    const rootChanged = candidate.keyId !== this.#root.keyId;
    if (rootChanged) {
      const previousRoot = this.#rootRecord;
      const record = await KeyManager.#recordFor(this.#options, candidate);
      await this.#publish(record);
      this.#root = candidate;
      this.#rootRecord = record;
      if (this.mode !== 'kms-delegated') this.#source = staticSignerSource(candidate);
      await this.#publish(retired(previousRoot, now));
    }
    if (this.mode === 'kms-delegated' && (rootChanged || onDemand)) {
      // A new delegated key (certified by the current KMS key) replaces the current one at once.
      this.#source = this.#delegatingSource(this.#root);
      await this.#source.current();
    } else if (!rootChanged) {
      const message = this.mode !== 'local'
        ? 'KMS_KEY_ID still resolves to the same KMS key; create a new ECC_NIST_EDWARDS25519 key and re-point the alias first'
        : 'SIGNING_KEY_FILE still holds the same key; deploy a new PEM first';
      if (onDemand) throw new SentinelError('SNT_CONFLICT', `cannot rotate: ${message}`, { details: { keyId: previousKeyId } });
      this.#options.logger.warn({ keyId: previousKeyId, reason: due.reason }, `signing key is due for rotation: ${message}`);
      return { rotated: false, reason: due.reason, previousKeyId, currentKeyId: previousKeyId, message };
    }
    const currentKeyId = this.currentRecord().keyId;
    this.#options.onRotated?.(due.reason, previousKeyId, currentKeyId);
    this.#options.logger.info({ previousKeyId, currentKeyId, reason: due.reason, mode: this.mode }, 'signing key rotated');
    return { rotated: true, reason: due.reason, previousKeyId, currentKeyId };
  }

  /**
   * Takes in what sibling instances published about the root key: when one of them rotated a
   * shared key (KMS, key file) it re-published the old one as retired, and this instance must stop
   * signing with it too (rotationDue then answers not_active, and the new key is loaded).
   */
  async #syncRoot(): Promise<void> {
    const stored = await this.#options.store.getKey(this.#root.keyId);
    if (stored !== null && (stored.status !== this.#rootRecord.status || stored.notAfter !== this.#rootRecord.notAfter)) {
      this.#rootRecord = stored;
    }
  }

  /** Follows the root key's published status, then rotates if due (the timer's tick). */
  async check(): Promise<RotationResult> {
    await this.#syncRoot();
    return this.rotate(false);
  }

  /** Runs check() every `intervalMs`. */
  startTimer(intervalMs: number): void {
    this.#timer = setInterval(() => {
      void this.check().catch((error: unknown) => this.#options.logger.error({ err: error }, 'scheduled key rotation failed'));
    }, intervalMs);
    this.#timer.unref();
  }

  stop(): void {
    if (this.#timer !== null) clearInterval(this.#timer);
    this.#timer = null;
    this.#kms?.destroy();
  }
}
