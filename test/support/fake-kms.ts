// A local stand-in for AWS KMS that speaks its real wire protocol (AWS JSON 1.1 over HTTP), so the real
// @aws-sdk/client-kms client runs against it unchanged:
//   new KMSClient({ endpoint: fake.endpoint, region: fake.region, credentials: { accessKeyId: 'test', secretAccessKey: 'test' } })
// Requests: POST /, Content-Type application/x-amz-json-1.1, X-Amz-Target TrentService.<Operation>,
// a SigV4 Authorization header (required, not verified), a JSON body with blobs in base64.
// Errors: HTTP 4xx/5xx with {"__type": "<Name>", "message": "..."} (namespaced for modelled KMS errors).
// Built from the KMS API reference and the client's schemas, not from AWS code. Keys are real node:crypto
// keys, so signatures verify for real. Implemented: CreateKey, DescribeKey, GetPublicKey, Sign (+ test
// controls: aliases, key states, request-rate limit, latency, fault injection, a call log).
// Rules enforced for Sign: the key exists (id, ARN, alias or alias ARN), is Enabled (Disabled ->
// DisabledException; PendingDeletion -> KMSInvalidStateException), has usage SIGN_VERIFY and offers the
// algorithm (else InvalidKeyUsageException); ED25519_SHA_512 requires MessageType RAW, ED25519_PH_SHA_512
// requires DIGEST (ValidationException otherwise); Message is 1..4096 bytes (ValidationException).
// Not implemented: Ed25519ph signing itself (UnsupportedOperationException), Verify, grants, policies.
import {
  createHash, createPrivateKey, createPublicKey, generateKeyPairSync, randomUUID, sign as cryptoSign, type KeyObject,
} from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export type FakeKeyState = 'Enabled' | 'Disabled' | 'PendingDeletion';
export type FakeKeySpec = 'ECC_NIST_EDWARDS25519' | 'ECC_NIST_P256';
export type FakeOperation = 'CreateKey' | 'DescribeKey' | 'GetPublicKey' | 'Sign';

export interface FakeKmsKey {
  keyId: string;
  arn: string;
  keySpec: FakeKeySpec;
  keyUsage: 'SIGN_VERIFY';
  state: FakeKeyState;
  description: string;
  createdAt: number;
  privateKey: KeyObject;
  publicKeyDer: Buffer;
  signingAlgorithms: string[];
}

export interface FakeKmsFault {
  /** Operation to affect; '*' = every operation. */
  operation: FakeOperation | '*';
  /** How many matching calls it affects (default 1; Infinity = until cleared). */
  times?: number;
  /** Answer with this error instead of performing the call. */
  error?: { name: string; status?: number; message?: string };
  /** Delay the answer by this long. */
  delayMs?: number;
  /** Rewrite a successful answer (e.g. truncate the signature) before it is sent. */
  rewrite?: (body: Record<string, unknown>) => Record<string, unknown>;
}

export interface FakeKmsCall {
  operation: string;
  body: Record<string, unknown>;
  /** The SigV4 credential scope the client used, e.g. "test/20260101/us-east-1/kms/aws4_request". */
  credentialScope: string | null;
  status: number;
}

export interface FakeKmsOptions {
  region?: string;
  accountId?: string;
  /** Shared request-rate quota for cryptographic operations (Sign, GetPublicKey), per second. */
  cryptoRequestsPerSecond?: number;
  /** Latency added to every answer. */
  latencyMs?: number;
}

const ED25519_ALGORITHMS = ['ED25519_SHA_512', 'ED25519_PH_SHA_512'];
const KMS_NAMESPACE = 'com.amazonaws.kms#';
/** Modelled KMS errors and their HTTP status (as in the client's error schemas). */
const MODELLED_ERRORS: Readonly<Record<string, number>> = {
  NotFoundException: 404, DisabledException: 409, KMSInvalidStateException: 409, InvalidKeyUsageException: 400,
  KeyUnavailableException: 500, KMSInternalException: 500, DependencyTimeoutException: 503,
  UnsupportedOperationException: 400, LimitExceededException: 400, InvalidArnException: 400,
};
const CRYPTO_OPERATIONS = new Set<string>(['Sign', 'GetPublicKey']);

class KmsError extends Error {
  readonly status: number;
  readonly type: string;
  constructor(type: string, message: string, status?: number) {
    super(message);
    this.type = type;
    this.status = status ?? MODELLED_ERRORS[type] ?? 400;
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

function decodeBlob(value: unknown, field: string): Buffer {
  if (typeof value !== 'string' || !/^[A-Za-z0-9+/]*={0,2}$/.test(value)) {
    throw new KmsError('ValidationException', `1 validation error detected: Value at '${field}' failed to satisfy constraint: Member must be a base64-encoded blob`);
  }
  return Buffer.from(value, 'base64');
}

export class FakeKms {
  readonly region: string;
  readonly accountId: string;
  readonly calls: FakeKmsCall[] = [];
  latencyMs: number;
  cryptoRequestsPerSecond: number;
  readonly #server: Server;
  readonly #keys = new Map<string, FakeKmsKey>();
  readonly #aliases = new Map<string, string>();
  #faults: Array<FakeKmsFault & { remaining: number }> = [];
  #windowStart = 0;
  #windowCount = 0;
  #port = 0;

  private constructor(options: FakeKmsOptions) {
    this.region = options.region ?? 'us-east-1';
    this.accountId = options.accountId ?? '111122223333';
    this.latencyMs = options.latencyMs ?? 0;
    this.cryptoRequestsPerSecond = options.cryptoRequestsPerSecond ?? Infinity;
    this.#server = createServer((req, res) => { void this.#handle(req, res); });
  }

  static async start(options: FakeKmsOptions = {}): Promise<FakeKms> {
    const fake = new FakeKms(options);
    await new Promise<void>((resolve) => fake.#server.listen(0, '127.0.0.1', resolve));
    fake.#port = (fake.#server.address() as AddressInfo).port;
    return fake;
  }

  get endpoint(): string {
    return `http://127.0.0.1:${this.#port}`;
  }

  /** Client settings for the real KMSClient. */
  clientConfig(): { endpoint: string; region: string; credentials: { accessKeyId: string; secretAccessKey: string } } {
    return { endpoint: this.endpoint, region: this.region, credentials: { accessKeyId: 'test', secretAccessKey: 'test' } };
  }

  async close(): Promise<void> {
    this.#server.closeAllConnections();
    await new Promise<void>((resolve, reject) => this.#server.close((error) => (error ? reject(error) : resolve())));
  }

  // --- test controls -----------------------------------------------------------------------------

  /** Creates a key directly (no API call). `seed` makes an Ed25519 key reproducible. */
  createKey(options: { alias?: string; keySpec?: FakeKeySpec; seed?: Buffer; description?: string } = {}): FakeKmsKey {
    const keySpec = options.keySpec ?? 'ECC_NIST_EDWARDS25519';
    let privateKey: KeyObject;
    if (keySpec === 'ECC_NIST_EDWARDS25519') {
      privateKey = options.seed === undefined
        ? generateKeyPairSync('ed25519').privateKey
        : createPrivateKey({ key: Buffer.concat([Buffer.from('302e020100300506032b657004220420', 'hex'), options.seed]), format: 'der', type: 'pkcs8' });
    } else {
      privateKey = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey;
    }
    const keyId = randomUUID();
    const key: FakeKmsKey = {
      keyId,
      arn: `arn:aws:kms:${this.region}:${this.accountId}:key/${keyId}`,
      keySpec,
      keyUsage: 'SIGN_VERIFY',
      state: 'Enabled',
      description: options.description ?? '',
      createdAt: Math.floor(Date.now() / 1000),
      privateKey,
      publicKeyDer: Buffer.from(createPublicKey(privateKey).export({ format: 'der', type: 'spki' })),
      signingAlgorithms: keySpec === 'ECC_NIST_EDWARDS25519' ? [...ED25519_ALGORITHMS] : ['ECDSA_SHA_256'],
    };
    this.#keys.set(keyId, key);
    if (options.alias !== undefined) this.createAlias(options.alias, keyId);
    return key;
  }

  createAlias(alias: string, keyId: string): void {
    if (!alias.startsWith('alias/')) throw new TypeError('alias names start with "alias/"');
    this.#aliases.set(alias, keyId);
  }

  setKeyState(keyIdOrAlias: string, state: FakeKeyState): void {
    const key = this.#resolve(keyIdOrAlias);
    key.state = state;
  }

  injectFault(fault: FakeKmsFault): void {
    this.#faults.push({ ...fault, remaining: fault.times ?? 1 });
  }

  clearFaults(): void {
    this.#faults = [];
  }

  callsOf(operation: FakeOperation): FakeKmsCall[] {
    return this.calls.filter((c) => c.operation === operation);
  }

  // --- protocol ------------------------------------------------------------------------------------

  #resolve(id: unknown): FakeKmsKey {
    if (typeof id !== 'string' || id === '') throw new KmsError('ValidationException', "1 validation error detected: Value at 'keyId' failed to satisfy constraint: Member must have length greater than or equal to 1");
    let keyId = id;
    const aliasArn = /^arn:aws:kms:[^:]+:\d{12}:(alias\/.+)$/.exec(id);
    const keyArn = /^arn:aws:kms:([^:]+):(\d{12}):key\/(.+)$/.exec(id);
    if (id.startsWith('alias/') || aliasArn !== null) {
      const name = aliasArn?.[1] ?? id;
      const target = this.#aliases.get(name);
      if (target === undefined) throw new KmsError('NotFoundException', `Alias arn:aws:kms:${this.region}:${this.accountId}:${name} is not found.`);
      keyId = target;
    } else if (keyArn !== null) {
      if (keyArn[1] !== this.region || keyArn[2] !== this.accountId) throw new KmsError('NotFoundException', `Invalid arn ${id}`);
      keyId = keyArn[3] ?? '';
    }
    const key = this.#keys.get(keyId);
    if (key === undefined) throw new KmsError('NotFoundException', `Key '${id}' does not exist`);
    return key;
  }

  static #requireUsable(key: FakeKmsKey): void {
    if (key.state === 'Disabled') throw new KmsError('DisabledException', `${key.arn} is disabled.`);
    if (key.state === 'PendingDeletion') throw new KmsError('KMSInvalidStateException', `${key.arn} is pending deletion.`);
  }

  #metadata(key: FakeKmsKey): Record<string, unknown> {
    return {
      AWSAccountId: this.accountId,
      KeyId: key.keyId,
      Arn: key.arn,
      CreationDate: key.createdAt,
      Enabled: key.state === 'Enabled',
      Description: key.description,
      KeyUsage: key.keyUsage,
      KeyState: key.state,
      Origin: 'AWS_KMS',
      KeyManager: 'CUSTOMER',
      CustomerMasterKeySpec: key.keySpec,
      KeySpec: key.keySpec,
      SigningAlgorithms: key.signingAlgorithms,
      MultiRegion: false,
    };
  }

  #operation(operation: string, body: Record<string, unknown>): Record<string, unknown> {
    switch (operation) {
      case 'CreateKey': {
        const spec = body.KeySpec ?? body.CustomerMasterKeySpec ?? 'SYMMETRIC_DEFAULT';
        if (body.KeyUsage !== 'SIGN_VERIFY' || (spec !== 'ECC_NIST_EDWARDS25519' && spec !== 'ECC_NIST_P256')) {
          throw new KmsError('UnsupportedOperationException', 'this fake KMS creates only SIGN_VERIFY keys of spec ECC_NIST_EDWARDS25519 or ECC_NIST_P256');
        }
        const key = this.createKey({ keySpec: spec, description: typeof body.Description === 'string' ? body.Description : '' });
        return { KeyMetadata: this.#metadata(key) };
      }
      case 'DescribeKey':
        return { KeyMetadata: this.#metadata(this.#resolve(body.KeyId)) };
      case 'GetPublicKey': {
        const key = this.#resolve(body.KeyId);
        FakeKms.#requireUsable(key);
        return {
          KeyId: key.arn,
          PublicKey: key.publicKeyDer.toString('base64'),
          CustomerMasterKeySpec: key.keySpec,
          KeySpec: key.keySpec,
          KeyUsage: key.keyUsage,
          SigningAlgorithms: key.signingAlgorithms,
        };
      }
      case 'Sign': {
        const key = this.#resolve(body.KeyId);
        FakeKms.#requireUsable(key);
        if (body.Message === undefined) throw new KmsError('ValidationException', "1 validation error detected: Value null at 'message' failed to satisfy constraint: Member must not be null");
        const message = decodeBlob(body.Message, 'message');
        if (message.length < 1 || message.length > 4096) {
          throw new KmsError('ValidationException', `1 validation error detected: Value at 'message' failed to satisfy constraint: Member must have length between 1 and 4096 (got ${message.length})`);
        }
        const algorithm = body.SigningAlgorithm;
        if (typeof algorithm !== 'string') throw new KmsError('ValidationException', "1 validation error detected: Value null at 'signingAlgorithm' failed to satisfy constraint: Member must not be null");
        if (!key.signingAlgorithms.includes(algorithm)) throw new KmsError('InvalidKeyUsageException', `${algorithm} is not supported by key ${key.arn}`);
        const messageType = body.MessageType ?? 'RAW';
        if (messageType !== 'RAW' && messageType !== 'DIGEST' && messageType !== 'EXTERNAL_MU') {
          throw new KmsError('ValidationException', "1 validation error detected: Value at 'messageType' failed to satisfy constraint: Member must satisfy enum value set: [EXTERNAL_MU, RAW, DIGEST]");
        }
        if (algorithm === 'ED25519_SHA_512' && messageType !== 'RAW') throw new KmsError('ValidationException', 'ED25519_SHA_512 requires MessageType RAW');
        if (algorithm === 'ED25519_PH_SHA_512') {
          if (messageType !== 'DIGEST' || message.length !== 64) throw new KmsError('ValidationException', 'ED25519_PH_SHA_512 requires MessageType DIGEST and a 64-byte SHA-512 digest');
          throw new KmsError('UnsupportedOperationException', 'this fake KMS does not implement Ed25519ph');
        }
        let signature: Buffer;
        if (algorithm === 'ED25519_SHA_512') {
          signature = cryptoSign(null, message, key.privateKey);
        } else {
          const digest = messageType === 'DIGEST' ? message : createHash('sha256').update(message).digest();
          if (digest.length !== 32) throw new KmsError('ValidationException', 'ECDSA_SHA_256 DIGEST messages are 32 bytes');
          signature = cryptoSign(null, digest, { key: key.privateKey, dsaEncoding: 'der' });
        }
        return { KeyId: key.arn, Signature: signature.toString('base64'), SigningAlgorithm: algorithm };
      }
      default:
        throw new KmsError('UnknownOperationException', `operation ${operation} is not implemented by this fake`);
    }
  }

  #takeFault(operation: string): (FakeKmsFault & { remaining: number }) | undefined {
    const fault = this.#faults.find((f) => f.remaining > 0 && (f.operation === '*' || f.operation === operation));
    if (fault !== undefined) fault.remaining--;
    this.#faults = this.#faults.filter((f) => f.remaining > 0);
    return fault;
  }

  #rateLimited(operation: string): boolean {
    if (!CRYPTO_OPERATIONS.has(operation) || !Number.isFinite(this.cryptoRequestsPerSecond)) return false;
    const second = Math.floor(Date.now() / 1000);
    if (second !== this.#windowStart) {
      this.#windowStart = second;
      this.#windowCount = 0;
    }
    this.#windowCount++;
    return this.#windowCount > this.cryptoRequestsPerSecond;
  }

  async #handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const raw = Buffer.concat(chunks).toString('utf8');
    const target = String(req.headers['x-amz-target'] ?? '');
    const operation = target.startsWith('TrentService.') ? target.slice('TrentService.'.length) : '';
    const auth = String(req.headers.authorization ?? '');
    const scope = /Credential=([^,]+)/.exec(auth)?.[1] ?? null;
    let body: Record<string, unknown> = {};
    let status = 200;
    let answer: Record<string, unknown>;
    const fault = this.#takeFault(operation);
    try {
      if (req.method !== 'POST' || req.url !== '/') throw new KmsError('UnknownOperationException', 'KMS answers POST / only');
      if (req.headers['content-type'] !== 'application/x-amz-json-1.1') throw new KmsError('SerializationException', 'Content-Type must be application/x-amz-json-1.1');
      if (!auth.startsWith('AWS4-HMAC-SHA256 ') || scope === null) throw new KmsError('MissingAuthenticationTokenException', 'Request is missing Authentication Token');
      if (operation === '') throw new KmsError('UnknownOperationException', `unknown X-Amz-Target "${target}"`);
      try {
        body = raw === '' ? {} : JSON.parse(raw) as Record<string, unknown>;
      } catch {
        throw new KmsError('SerializationException', 'the body is not JSON');
      }
      if (fault?.delayMs !== undefined) await sleep(fault.delayMs);
      if (fault?.error !== undefined) throw new KmsError(fault.error.name, fault.error.message ?? `injected ${fault.error.name}`, fault.error.status);
      if (this.#rateLimited(operation)) throw new KmsError('ThrottlingException', 'Rate exceeded', 400);
      answer = this.#operation(operation, body);
      if (fault?.rewrite !== undefined) answer = fault.rewrite(answer);
    } catch (error) {
      if (!(error instanceof KmsError)) throw error;
      status = error.status;
      const type = Object.hasOwn(MODELLED_ERRORS, error.type) ? `${KMS_NAMESPACE}${error.type}` : error.type;
      answer = { __type: type, message: error.message };
    }
    this.calls.push({ operation, body, credentialScope: scope, status });
    if (this.latencyMs > 0) await sleep(this.latencyMs);
    const text = JSON.stringify(answer);
    res.writeHead(status, {
      'content-type': 'application/x-amz-json-1.1',
      'content-length': Buffer.byteLength(text),
      'x-amzn-requestid': randomUUID(),
    });
    res.end(text);
  }
}
