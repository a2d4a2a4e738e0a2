// The real @aws-sdk/client-kms client against the local KMS-protocol server (test/support/fake-kms.ts)
// over HTTP: KmsSigner start-up and signing, response validation, error mapping, SDK retries, the
// delegated mode, and the backend factory. Signatures are real Ed25519 and are verified with the
// approval verifier.
import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, test } from 'node:test';
import { GetPublicKeyCommand, KMSClient, SignCommand } from '@aws-sdk/client-kms';
import type { Config } from '../../../src/config/index.ts';
import type { SigningKeyRecord } from '../../../src/domain/types.ts';
import { classifyFailure, isSentinelError } from '../../../src/errors/index.ts';
import { createKeyRegistry, newKeyRecord } from '../../../src/approval/keys/index.ts';
import { issueApproval } from '../../../src/approval/sign.ts';
import { KmsSigner, createKmsClient } from '../../../src/approval/signers/kms.ts';
import { createSigningBackend } from '../../../src/approval/signers/index.ts';
import { ACTIONS, T0, sampleDecision, testNonce, testSeed, testSigner } from '../../../src/approval/testing/fixtures.ts';
import { verifyApproval } from '../../../src/approval/verify/index.ts';
import { FakeKms, type FakeKmsKey } from '../../support/fake-kms.ts';

const ALIAS = 'alias/aureus-bridge';
let fake: FakeKms;
let key: FakeKmsKey;

function client(overrides: Partial<Parameters<typeof createKmsClient>[0]> = {}): KMSClient {
  return createKmsClient({ ...fake.clientConfig(), ...overrides });
}

function codeOf(error: unknown): string | null {
  return isSentinelError(error) ? error.code : null;
}

const issueOptions = { now: T0, nonce: testNonce('kms'), audience: 'aureus-executor', issuer: 'aureus-bridge' };

function verifyWith(records: SigningKeyRecord[], envelope: Parameters<typeof verifyApproval>[1]) {
  const d = sampleDecision();
  return verifyApproval({ registry: createKeyRegistry(records), now: T0 + 1000, audience: 'aureus-executor', action: d.action, event: { intentId: d.intentId, decisionId: d.decisionId } }, envelope);
}

before(async () => {
  fake = await FakeKms.start();
  key = fake.createKey({ alias: ALIAS, seed: testSeed('kms integration') });
});

after(async () => {
  await fake.close();
});

beforeEach(() => {
  fake.clearFaults();
  fake.latencyMs = 0;
  fake.setKeyState(key.keyId, 'Enabled');
  fake.calls.length = 0;
});

describe('KmsSigner with the real client', () => {
  test('start-up: GetPublicKey through the alias; the key id is derived from the KMS public key', async () => {
    const signer = await KmsSigner.create({ client: client(), kmsKeyId: ALIAS });
    assert.equal(signer.kmsKeyArn, key.arn);
    assert.equal(signer.keyId, testSigner('kms integration').keyId);
    assert.equal(signer.origin, 'kms');
    const [call] = fake.callsOf('GetPublicKey');
    assert.equal(call?.body.KeyId, ALIAS);
    assert.match(call?.credentialScope ?? '', /^test\/\d{8}\/us-east-1\/kms\/aws4_request$/);
  });

  test('signs approvals with ED25519_SHA_512 / RAW by key ARN, and they verify', async () => {
    const signer = await KmsSigner.create({ client: client(), kmsKeyId: ALIAS });
    const r = await issueApproval(sampleDecision(), [], signer, issueOptions);
    assert.ok(r.ok);
    const [call] = fake.callsOf('Sign');
    assert.deepEqual(
      { KeyId: call?.body.KeyId, SigningAlgorithm: call?.body.SigningAlgorithm, MessageType: call?.body.MessageType },
      { KeyId: key.arn, SigningAlgorithm: 'ED25519_SHA_512', MessageType: 'RAW' },
    );
    assert.ok(Buffer.from(String(call?.body.Message), 'base64').toString('latin1').startsWith('DSSEv1 47 application/vnd.aureus.approval+json; version=1 '));
    const v = verifyWith([newKeyRecord({ publicKey: signer.publicKey, origin: 'kms', now: T0 - 1000 })], r.envelope);
    assert.ok(v.ok, v.ok ? '' : v.reason);
  });

  test('the fake enforces KMS rules for the raw client: RAW only for ED25519_SHA_512, 1..4096 bytes, known algorithms', async () => {
    const raw = new KMSClient(fake.clientConfig());
    const sign = (input: Partial<ConstructorParameters<typeof SignCommand>[0]>) =>
      raw.send(new SignCommand({ KeyId: key.arn, Message: Buffer.from('m'), MessageType: 'RAW', SigningAlgorithm: 'ED25519_SHA_512', ...input }));
    await assert.rejects(() => sign({ MessageType: 'DIGEST', Message: Buffer.alloc(64) }), { name: 'ValidationException' });
    await assert.rejects(() => sign({ Message: Buffer.alloc(4097) }), { name: 'ValidationException' });
    await assert.rejects(() => sign({ SigningAlgorithm: 'ECDSA_SHA_256' }), { name: 'InvalidKeyUsageException' });
    await assert.rejects(() => sign({ KeyId: 'alias/missing' }), { name: 'NotFoundException' });
    const ok = await sign({ Message: Buffer.alloc(4096, 1) });
    assert.equal(ok.Signature?.length, 64);
    const pub = await raw.send(new GetPublicKeyCommand({ KeyId: key.keyId }));
    assert.equal(pub.KeySpec, 'ECC_NIST_EDWARDS25519');
    raw.destroy();
  });

  test('messages over 4096 bytes are refused before any KMS call', async () => {
    const signer = await KmsSigner.create({ client: client(), kmsKeyId: ALIAS });
    await assert.rejects(() => signer.sign(Buffer.alloc(4097)), (e: unknown) => codeOf(e) === 'SNT_KMS_MESSAGE_TOO_LARGE');
    assert.equal(fake.callsOf('Sign').length, 0);
  });
});

describe('errors and retries', () => {
  test('throttling: the SDK retries (standard mode) and the signature arrives', async () => {
    const signer = await KmsSigner.create({ client: client({ maxAttempts: 3 }), kmsKeyId: ALIAS });
    fake.injectFault({ operation: 'Sign', error: { name: 'ThrottlingException', message: 'Rate exceeded' }, times: 2 });
    const sig = await signer.sign(Buffer.from('payload'));
    assert.equal(sig.length, 64);
    assert.deepEqual(fake.callsOf('Sign').map((c) => c.status), [400, 400, 200]);
  });

  test('throttling past the retry budget: SNT_KMS_THROTTLED, retriable (transient)', async () => {
    const signer = await KmsSigner.create({ client: client({ maxAttempts: 2 }), kmsKeyId: ALIAS });
    fake.injectFault({ operation: 'Sign', error: { name: 'ThrottlingException', message: 'Rate exceeded' }, times: Infinity });
    await assert.rejects(() => signer.sign(Buffer.from('payload')), (e: unknown) => codeOf(e) === 'SNT_KMS_THROTTLED' && classifyFailure(e) === 'transient');
    assert.equal(fake.callsOf('Sign').length, 2);
  });

  test('the request-rate quota of the fake throttles a burst; bounded retries absorb a small one', async () => {
    const signer = await KmsSigner.create({ client: client({ maxAttempts: 5 }), kmsKeyId: ALIAS });
    fake.cryptoRequestsPerSecond = 5;
    try {
      const sigs = await Promise.all(Array.from({ length: 8 }, (_, i) => signer.sign(Buffer.from(`m${i}`))));
      assert.equal(sigs.length, 8);
      assert.ok(fake.callsOf('Sign').some((c) => c.status === 400), 'some calls were throttled');
    } finally {
      fake.cryptoRequestsPerSecond = Infinity;
    }
  });

  for (const [name, status, expected, retriable] of [
    ['DependencyTimeoutException', 503, 'SNT_KMS_UNAVAILABLE', true],
    ['KeyUnavailableException', 500, 'SNT_KMS_UNAVAILABLE', true],
    ['KMSInternalException', 500, 'SNT_KMS_UNAVAILABLE', true],
    ['AccessDeniedException', 400, 'SNT_KMS_ACCESS_DENIED', false],
    ['InvalidKeyUsageException', 400, 'SNT_KMS_KEY_MISCONFIGURED', false],
  ] as const) {
    test(`${name} -> ${expected}`, async () => {
      const signer = await KmsSigner.create({ client: client({ maxAttempts: 2 }), kmsKeyId: ALIAS });
      fake.injectFault({ operation: 'Sign', error: { name, status }, times: Infinity });
      await assert.rejects(() => signer.sign(Buffer.from('m')), (e: unknown) => isSentinelError(e) && e.code === expected && e.retriable === retriable);
    });
  }

  test('a disabled key refuses (SNT_KMS_KEY_DISABLED, not retried), at start-up and while signing', async () => {
    const signer = await KmsSigner.create({ client: client(), kmsKeyId: ALIAS });
    fake.setKeyState(key.keyId, 'Disabled');
    await assert.rejects(() => signer.sign(Buffer.from('m')), (e: unknown) => codeOf(e) === 'SNT_KMS_KEY_DISABLED' && classifyFailure(e) === 'permanent');
    assert.equal(fake.callsOf('Sign').length, 1, 'no retries for a disabled key');
    await assert.rejects(() => KmsSigner.create({ client: client(), kmsKeyId: ALIAS }), (e: unknown) => codeOf(e) === 'SNT_KMS_KEY_DISABLED');
  });

  test('a key pending deletion: SNT_KMS_KEY_INVALID_STATE', async () => {
    const signer = await KmsSigner.create({ client: client(), kmsKeyId: ALIAS });
    fake.setKeyState(key.keyId, 'PendingDeletion');
    await assert.rejects(() => signer.sign(Buffer.from('m')), (e: unknown) => codeOf(e) === 'SNT_KMS_KEY_INVALID_STATE');
  });

  test('an unknown alias: SNT_KMS_KEY_NOT_FOUND at start-up', async () => {
    await assert.rejects(() => KmsSigner.create({ client: client(), kmsKeyId: 'alias/nope' }), (e: unknown) => codeOf(e) === 'SNT_KMS_KEY_NOT_FOUND');
  });

  test('a key of another spec (P-256): SNT_KMS_KEY_MISCONFIGURED at start-up', async () => {
    const p256 = fake.createKey({ keySpec: 'ECC_NIST_P256' });
    await assert.rejects(() => KmsSigner.create({ client: client(), kmsKeyId: p256.arn }), (e: unknown) => codeOf(e) === 'SNT_KMS_KEY_MISCONFIGURED');
  });

  test('latency beyond the request timeout: SNT_KMS_UNAVAILABLE (retriable)', async () => {
    const signer = await KmsSigner.create({ client: client({ requestTimeoutMs: 100, maxAttempts: 1 }), kmsKeyId: ALIAS });
    fake.latencyMs = 400;
    await assert.rejects(() => signer.sign(Buffer.from('m')), (e: unknown) => codeOf(e) === 'SNT_KMS_UNAVAILABLE' && classifyFailure(e) === 'transient');
  });

  test('an unreachable endpoint: SNT_KMS_UNAVAILABLE', async () => {
    const down = await FakeKms.start();
    const endpoint = down.endpoint;
    await down.close();
    const c = createKmsClient({ endpoint, region: 'us-east-1', credentials: { accessKeyId: 'test', secretAccessKey: 'test' }, maxAttempts: 1 });
    await assert.rejects(() => KmsSigner.create({ client: c, kmsKeyId: ALIAS }), (e: unknown) => codeOf(e) === 'SNT_KMS_UNAVAILABLE');
  });
});

describe('response validation', () => {
  for (const [name, rewrite] of [
    ['a 63-byte signature', (b: Record<string, unknown>) => ({ ...b, Signature: Buffer.from(String(b.Signature), 'base64').subarray(0, 63).toString('base64') })],
    ['another algorithm', (b: Record<string, unknown>) => ({ ...b, SigningAlgorithm: 'ED25519_PH_SHA_512' })],
    ['another key ARN', (b: Record<string, unknown>) => ({ ...b, KeyId: String(b.KeyId).replace(/.$/, (last) => (last === '0' ? '1' : '0')) })],
    ['a signature by another key', (b: Record<string, unknown>) => ({ ...b, Signature: testSigner('other').signSync(Buffer.from('m')).toString('base64') })],
    ['no signature', (b: Record<string, unknown>) => ({ KeyId: b.KeyId, SigningAlgorithm: b.SigningAlgorithm })],
  ] as const) {
    test(`Sign answering with ${name} is refused (SNT_KMS_BAD_RESPONSE)`, async () => {
      const signer = await KmsSigner.create({ client: client(), kmsKeyId: ALIAS });
      fake.injectFault({ operation: 'Sign', rewrite });
      await assert.rejects(() => signer.sign(Buffer.from('m')), (e: unknown) => codeOf(e) === 'SNT_KMS_BAD_RESPONSE');
    });
  }

  test('GetPublicKey answering with a non-Ed25519 SPKI is refused', async () => {
    fake.injectFault({ operation: 'GetPublicKey', rewrite: (b) => ({ ...b, PublicKey: Buffer.alloc(44, 1).toString('base64') }) });
    await assert.rejects(() => KmsSigner.create({ client: client(), kmsKeyId: ALIAS }), (e: unknown) => codeOf(e) === 'SNT_KMS_BAD_RESPONSE');
  });
});

describe('delegated mode and the backend factory', () => {
  const signing: Config['signing'] = {
    useKms: true, kmsKeyId: ALIAS, kmsMode: 'delegated', kmsEndpoint: '', awsRegion: 'us-east-1',
    keyFile: '', rotationDays: 30, approvalTtlSeconds: 300, audience: 'aureus-executor',
  };

  test('delegated: one KMS Sign certifies a key that then signs many approvals; the chain verifies', async () => {
    const published: SigningKeyRecord[] = [];
    const backend = await createSigningBackend(signing, {
      kmsClient: client(), clock: () => T0, publish: async (record) => { published.push(record); },
    });
    assert.equal(backend.mode, 'kms-delegated');
    const decisions = Array.from({ length: 25 }, (_, i) => sampleDecision({ decisionId: `dec-d${i}`, intentId: `int-d${i}` }));
    const results = await Promise.all(decisions.map((d) => issueApproval(d, [], backend.source, issueOptions)));
    assert.equal(fake.callsOf('Sign').length, 1);
    assert.equal(published.length, 1);
    const registry = createKeyRegistry([newKeyRecord({ publicKey: backend.root.publicKey, origin: 'kms', now: T0 - 1000 }), ...published]);
    for (const [i, r] of results.entries()) {
      assert.ok(r.ok);
      const d = decisions[i]!;
      const v = verifyApproval({ registry, now: T0 + 1000, audience: 'aureus-executor', action: ACTIONS.transfer, event: { intentId: d.intentId, decisionId: d.decisionId } }, r.envelope);
      assert.ok(v.ok, v.ok ? '' : v.reason);
      assert.equal(v.keyId, published[0]?.keyId);
    }
  });

  test('direct: every approval is one KMS Sign', async () => {
    const backend = await createSigningBackend({ ...signing, kmsMode: 'direct' }, { kmsClient: client() });
    assert.equal(backend.mode, 'kms');
    for (let i = 0; i < 3; i++) await issueApproval(sampleDecision({ decisionId: `dec-k${i}` }), [], backend.source, issueOptions);
    assert.equal(fake.callsOf('Sign').length, 3);
  });

  test('local: an ephemeral key when no key file is configured', async () => {
    const backend = await createSigningBackend({ ...signing, useKms: false });
    assert.equal(backend.mode, 'local');
    assert.equal((await backend.source.current()).origin, 'local');
    assert.equal(fake.calls.length, 0);
  });
});
