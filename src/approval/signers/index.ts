// Choosing the signing backend from configuration (values passed in; nothing here reads the
// environment). docs/keys-and-kms.md §6 says when to use which.
import type { KMSClient } from '@aws-sdk/client-kms';
import type { Config } from '../../config/index.ts';
import type { EpochMillis, SigningKeyRecord } from '../../domain/types.ts';
import { DelegatingSignerSource } from './delegated.ts';
import { KmsSigner, createKmsClient } from './kms.ts';
import { LocalEd25519Signer } from './local.ts';
import { type Signer, type SignerSource, staticSignerSource } from './signer.ts';

export { DelegatedSigner, DelegatingSignerSource, delegateKey } from './delegated.ts';
export { KmsSigner, createKmsClient, mapKmsError, checkKmsPublicKey } from './kms.ts';
export { LocalEd25519Signer } from './local.ts';
export { staticSignerSource, type Signer, type SignerSource } from './signer.ts';

export interface SigningBackend {
  /** Ask it for the signer of each approval. */
  source: SignerSource;
  /** The long-lived key (local key or KMS key); in delegated mode, the parent of every delegated key. */
  root: Signer;
  mode: 'local' | 'kms' | 'kms-delegated';
}

export interface SigningBackendDeps {
  /** Supply a client (tests); default: createKmsClient from the configuration. */
  kmsClient?: KMSClient;
  /** Delegated mode: publish each new delegated key's record (resolve once durable). */
  publish?: (record: SigningKeyRecord) => Promise<void>;
  clock?: () => EpochMillis;
  delegationValidityMs?: number;
}

/**
 * USE_KMS=false: SIGNING_KEY_FILE (PKCS#8 PEM) or, when empty, an ephemeral key (development only).
 * USE_KMS=true, KMS_MODE=direct: every approval is a KMS Sign call.
 * USE_KMS=true, KMS_MODE=delegated: KMS certifies a short-lived in-memory key that signs approvals.
 */
export async function createSigningBackend(signing: Config['signing'], deps: SigningBackendDeps = {}): Promise<SigningBackend> {
  if (!signing.useKms) {
    const root = signing.keyFile === '' ? LocalEd25519Signer.generate() : await LocalEd25519Signer.fromPemFile(signing.keyFile);
    return { source: staticSignerSource(root), root, mode: 'local' };
  }
  const client = deps.kmsClient ?? createKmsClient({ region: signing.awsRegion, endpoint: signing.kmsEndpoint });
  const root = await KmsSigner.create({ client, kmsKeyId: signing.kmsKeyId });
  if (signing.kmsMode === 'direct') return { source: staticSignerSource(root), root, mode: 'kms' };
  const options: ConstructorParameters<typeof DelegatingSignerSource>[0] = { parent: root };
  if (deps.publish !== undefined) options.publish = deps.publish;
  if (deps.clock !== undefined) options.clock = deps.clock;
  if (deps.delegationValidityMs !== undefined) options.validityMs = deps.delegationValidityMs;
  return { source: new DelegatingSignerSource(options), root, mode: 'kms-delegated' };
}
