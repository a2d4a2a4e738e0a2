// AWS KMS signer (docs/keys-and-kms.md §6.2). Key spec ECC_NIST_EDWARDS25519, key usage SIGN_VERIFY;
// every signature is a KMS Sign call with SigningAlgorithm ED25519_SHA_512 and MessageType RAW
// (pure Ed25519; RAW messages are at most 4096 bytes). The public key is read once (GetPublicKey,
// DER SPKI), validated, and the key's ARN from that answer is what Sign uses afterwards, so an alias
// re-pointed while we run cannot make us sign with a key whose id we do not publish.
// Every answer is validated (key ARN, algorithm, 64-byte signature, and a local strict verify of
// the signature) before it is used. KMS errors become SentinelError codes: throttling and
// unavailability are retriable, the rest are not. Nothing is ever signed "anyway".
import {
  GetPublicKeyCommand, KMSClient, SignCommand,
  type GetPublicKeyCommandOutput, type KMSClientConfig, type SignCommandOutput,
} from '@aws-sdk/client-kms';
import type { KeyObject } from 'node:crypto';
import { type ErrorCode, SentinelError, isSentinelError } from '../../errors/index.ts';
import { parseEd25519Spki, publicKeyObject, publicKeyProblem, verifyStrict } from '../ed25519.ts';
import { deriveKeyId } from '../keys/key-id.ts';
import type { KeyOrigin } from '../keys/registry.ts';
import type { Signer } from './signer.ts';

export const KMS_KEY_SPEC = 'ECC_NIST_EDWARDS25519';
export const KMS_SIGNING_ALGORITHM = 'ED25519_SHA_512';
export const KMS_MAX_RAW_MESSAGE_BYTES = 4096;

export interface KmsClientOptions {
  region: string;
  /** KMS_ENDPOINT; empty or undefined = the AWS endpoint of the region. */
  endpoint?: string;
  /** SDK attempts per call, including the first (standard retry mode, exponential backoff with jitter). */
  maxAttempts?: number;
  requestTimeoutMs?: number;
  connectionTimeoutMs?: number;
  /** Static credentials (tests); default: the SDK's provider chain (env, web identity, instance role). */
  credentials?: KMSClientConfig['credentials'];
}

/** A KMS client with bounded retries and timeouts, for KmsSigner. */
export function createKmsClient(options: KmsClientOptions): KMSClient {
  const config: KMSClientConfig = {
    region: options.region,
    maxAttempts: options.maxAttempts ?? 3,
    retryMode: 'standard',
    requestHandler: {
      requestTimeout: options.requestTimeoutMs ?? 2_000,
      // Without this the SDK only logs a warning when requestTimeout passes and keeps waiting.
      throwOnRequestTimeout: true,
      connectionTimeout: options.connectionTimeoutMs ?? 1_000,
    },
  };
  if (options.endpoint !== undefined && options.endpoint !== '') config.endpoint = options.endpoint;
  if (options.credentials !== undefined) config.credentials = options.credentials;
  return new KMSClient(config);
}

const KMS_ERROR_CODES: Readonly<Record<string, ErrorCode>> = {
  ThrottlingException: 'SNT_KMS_THROTTLED',
  LimitExceededException: 'SNT_KMS_THROTTLED',
  DependencyTimeoutException: 'SNT_KMS_UNAVAILABLE',
  KeyUnavailableException: 'SNT_KMS_UNAVAILABLE',
  KMSInternalException: 'SNT_KMS_UNAVAILABLE',
  ServiceUnavailableException: 'SNT_KMS_UNAVAILABLE',
  InternalFailure: 'SNT_KMS_UNAVAILABLE',
  TimeoutError: 'SNT_KMS_UNAVAILABLE',
  RequestTimeout: 'SNT_KMS_UNAVAILABLE',
  DisabledException: 'SNT_KMS_KEY_DISABLED',
  KMSInvalidStateException: 'SNT_KMS_KEY_INVALID_STATE',
  NotFoundException: 'SNT_KMS_KEY_NOT_FOUND',
  AccessDeniedException: 'SNT_KMS_ACCESS_DENIED',
  UnrecognizedClientException: 'SNT_KMS_ACCESS_DENIED',
  InvalidSignatureException: 'SNT_KMS_ACCESS_DENIED',
  IncompleteSignature: 'SNT_KMS_ACCESS_DENIED',
  ExpiredTokenException: 'SNT_KMS_ACCESS_DENIED',
  InvalidKeyUsageException: 'SNT_KMS_KEY_MISCONFIGURED',
  UnsupportedOperationException: 'SNT_KMS_KEY_MISCONFIGURED',
  ValidationException: 'SNT_KMS_KEY_MISCONFIGURED',
  InvalidArnException: 'SNT_KMS_KEY_MISCONFIGURED',
  InvalidGrantTokenException: 'SNT_KMS_ACCESS_DENIED',
  DryRunOperationException: 'SNT_KMS_KEY_MISCONFIGURED',
};

const NETWORK_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'EPIPE', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'EAI_AGAIN', 'ENOTFOUND']);

/** Maps anything the KMS client threw to a SentinelError (the cause is kept, never the message body). */
export function mapKmsError(error: unknown, operation: string): SentinelError {
  if (isSentinelError(error)) return error;
  const name = error instanceof Error ? error.name : '';
  const netCode = (error as { code?: unknown } | null)?.code;
  let code: ErrorCode | undefined = KMS_ERROR_CODES[name];
  if (code === undefined && typeof netCode === 'string' && NETWORK_CODES.has(netCode)) code = 'SNT_KMS_UNAVAILABLE';
  if (code === undefined) {
    const status = (error as { $metadata?: { httpStatusCode?: number } } | null)?.$metadata?.httpStatusCode;
    code = status !== undefined && status >= 500 ? 'SNT_KMS_UNAVAILABLE' : 'SNT_KMS_FAILED';
  }
  return new SentinelError(code, `KMS ${operation} failed: ${name || 'error'}`, {
    cause: error,
    details: { operation, kmsError: name || null },
  });
}

function badResponse(message: string, operation: string): SentinelError {
  return new SentinelError('SNT_KMS_BAD_RESPONSE', `KMS ${operation}: ${message}`, { details: { operation } });
}

export interface KmsSignerOptions {
  client: KMSClient;
  /** KMS_KEY_ID: key id, key ARN or alias ("alias/aureus-bridge"). */
  kmsKeyId: string;
  /** Verify every KMS signature locally before returning it (default true; ~50 µs). */
  verifyResponses?: boolean;
  /** Most Sign calls in flight at once from this signer (keep below the account's KMS quota). */
  maxConcurrency?: number;
}

/** Validates a GetPublicKey answer; returns the key ARN and the raw Ed25519 public key. */
export function checkKmsPublicKey(out: GetPublicKeyCommandOutput): { arn: string; publicKey: Buffer } {
  const op = 'GetPublicKey';
  if (typeof out.KeyId !== 'string' || out.KeyId === '') throw badResponse('no KeyId in the answer', op);
  if (out.KeySpec !== KMS_KEY_SPEC) {
    throw new SentinelError('SNT_KMS_KEY_MISCONFIGURED', `KMS key ${out.KeyId} has key spec ${String(out.KeySpec)}, not ${KMS_KEY_SPEC}`, { details: { kmsKeyId: out.KeyId } });
  }
  if (out.KeyUsage !== 'SIGN_VERIFY') {
    throw new SentinelError('SNT_KMS_KEY_MISCONFIGURED', `KMS key ${out.KeyId} has key usage ${String(out.KeyUsage)}, not SIGN_VERIFY`, { details: { kmsKeyId: out.KeyId } });
  }
  if (!(out.SigningAlgorithms ?? []).includes(KMS_SIGNING_ALGORITHM)) {
    throw new SentinelError('SNT_KMS_KEY_MISCONFIGURED', `KMS key ${out.KeyId} does not offer ${KMS_SIGNING_ALGORITHM}`, { details: { kmsKeyId: out.KeyId } });
  }
  if (!(out.PublicKey instanceof Uint8Array)) throw badResponse('no PublicKey in the answer', op);
  const raw = parseEd25519Spki(out.PublicKey);
  if (raw === null) throw badResponse('PublicKey is not an Ed25519 SubjectPublicKeyInfo', op);
  const problem = publicKeyProblem(raw);
  if (problem !== null) throw badResponse(`PublicKey is not acceptable: ${problem}`, op);
  return { arn: out.KeyId, publicKey: raw };
}

/** A Signer backed by one KMS key. Create with KmsSigner.create (one GetPublicKey at start-up). */
export class KmsSigner implements Signer {
  readonly keyId: string;
  readonly publicKey: Buffer;
  readonly origin: KeyOrigin = 'kms';
  /** The key ARN every Sign call uses. */
  readonly kmsKeyArn: string;
  readonly #client: KMSClient;
  readonly #key: KeyObject;
  readonly #verify: boolean;
  readonly #maxConcurrency: number;
  #inFlight = 0;
  readonly #waiting: Array<() => void> = [];

  private constructor(client: KMSClient, arn: string, publicKey: Buffer, verify: boolean, maxConcurrency: number) {
    this.#client = client;
    this.kmsKeyArn = arn;
    this.publicKey = publicKey;
    this.keyId = deriveKeyId(publicKey);
    this.#key = publicKeyObject(publicKey);
    this.#verify = verify;
    this.#maxConcurrency = maxConcurrency;
  }

  static async create(options: KmsSignerOptions): Promise<KmsSigner> {
    let out: GetPublicKeyCommandOutput;
    try {
      out = await options.client.send(new GetPublicKeyCommand({ KeyId: options.kmsKeyId }));
    } catch (error) {
      throw mapKmsError(error, 'GetPublicKey');
    }
    const { arn, publicKey } = checkKmsPublicKey(out);
    const maxConcurrency = options.maxConcurrency ?? 64;
    if (!Number.isInteger(maxConcurrency) || maxConcurrency < 1) throw new RangeError('maxConcurrency must be a positive integer');
    return new KmsSigner(options.client, arn, publicKey, options.verifyResponses ?? true, maxConcurrency);
  }

  async #acquire(): Promise<void> {
    if (this.#inFlight < this.#maxConcurrency) {
      this.#inFlight++;
      return;
    }
    await new Promise<void>((resolve) => this.#waiting.push(resolve));
  }

  #release(): void {
    const next = this.#waiting.shift();
    if (next !== undefined) next(); // the slot passes to the next waiter
    else this.#inFlight--;
  }

  async sign(data: Buffer): Promise<Buffer> {
    if (data.length > KMS_MAX_RAW_MESSAGE_BYTES) {
      throw new SentinelError('SNT_KMS_MESSAGE_TOO_LARGE', `KMS signs at most ${KMS_MAX_RAW_MESSAGE_BYTES} bytes in RAW mode, got ${data.length}`, { details: { bytes: data.length } });
    }
    if (data.length === 0) throw new RangeError('KMS cannot sign an empty message');
    await this.#acquire();
    let out: SignCommandOutput;
    try {
      out = await this.#client.send(new SignCommand({
        KeyId: this.kmsKeyArn,
        Message: data,
        MessageType: 'RAW',
        SigningAlgorithm: KMS_SIGNING_ALGORITHM,
      }));
    } catch (error) {
      throw mapKmsError(error, 'Sign');
    } finally {
      this.#release();
    }
    return this.#checkSignature(out, data);
  }

  #checkSignature(out: SignCommandOutput, data: Buffer): Buffer {
    const op = 'Sign';
    if (out.KeyId !== this.kmsKeyArn) throw badResponse(`answered for key ${String(out.KeyId)}, not ${this.kmsKeyArn}`, op);
    if (out.SigningAlgorithm !== KMS_SIGNING_ALGORITHM) throw badResponse(`answered with algorithm ${String(out.SigningAlgorithm)}`, op);
    if (!(out.Signature instanceof Uint8Array) || out.Signature.length !== 64) {
      throw badResponse(`signature is ${out.Signature instanceof Uint8Array ? out.Signature.length : 'no'} bytes, not 64`, op);
    }
    const sig = Buffer.from(out.Signature);
    if (this.#verify && verifyStrict(this.#key, data, sig) !== 'ok') throw badResponse('signature does not verify under the key\'s public key', op);
    return sig;
  }

  toJSON(): { keyId: string; origin: KeyOrigin; kmsKeyArn: string } {
    return { keyId: this.keyId, origin: this.origin, kmsKeyArn: this.kmsKeyArn };
  }
}
