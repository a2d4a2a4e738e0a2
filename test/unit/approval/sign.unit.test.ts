// Drafting, signing and issuing approvals; the local signer; the delegated signer source;
// KMS error mapping and public-key validation (the KMS client itself is covered by test/int/approval).
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { sha256Tagged } from '../../../src/canonical/digest.ts';
import type { SigningKeyRecord } from '../../../src/domain/types.ts';
import { classifyFailure, isSentinelError } from '../../../src/errors/index.ts';
import { authorizeSigning } from '../../../src/approval/authorize.ts';
import { approvalIdFor, draftApproval } from '../../../src/approval/draft.ts';
import { preAuthEncoding } from '../../../src/approval/dsse.ts';
import { verifyStrict } from '../../../src/approval/ed25519.ts';
import { createKeyRegistry, newKeyRecord } from '../../../src/approval/keys/index.ts';
import { APPROVAL_PAYLOAD_TYPE, MAX_PAYLOAD_BYTES, decodeApprovalPayload } from '../../../src/approval/payload.ts';
import { approvalEvent, issueApproval, signApproval } from '../../../src/approval/sign.ts';
import { DelegatingSignerSource } from '../../../src/approval/signers/delegated.ts';
import { checkKmsPublicKey, mapKmsError } from '../../../src/approval/signers/kms.ts';
import { LocalEd25519Signer } from '../../../src/approval/signers/local.ts';
import type { Signer } from '../../../src/approval/signers/signer.ts';
import { ACTIONS, T0, approverPrincipal, humanDecision, sampleDecision, sampleResponse, testNonce, testSigner } from '../../../src/approval/testing/fixtures.ts';
import { verifyApproval } from '../../../src/approval/verify/index.ts';

const options = { now: T0, nonce: testNonce('s'), audience: 'aureus-executor', issuer: 'aureus-bridge' };

function code(error: unknown): string | null {
  return isSentinelError(error) ? error.code : null;
}

describe('draftApproval', () => {
  test('binds the decision: ids, digest, type, requester, risk, rules, policy, times, nonce, audience, issuer', () => {
    const d = sampleDecision();
    const p = draftApproval(d, [], { ...options, approvalId: approvalIdFor(d.decisionId), ttlMs: 120_000 });
    assert.deepEqual(p, {
      approvalId: approvalIdFor(d.decisionId), intentId: d.intentId, decisionId: d.decisionId, actionType: 'transfer',
      actionDigest: d.actionDigest, basis: 'policy_allow',
      requester: { userId: d.requester.userId, channel: d.requester.channel, channelUserId: d.requester.channelUserId },
      approvers: [], riskTier: 'low', ruleIds: d.firedRules, policyVersion: d.policyVersion, policyDigest: d.policyDigest,
      issuedAt: T0, notBefore: T0, expiresAt: T0 + 120_000, nonce: options.nonce, audience: 'aureus-executor', issuer: 'aureus-bridge',
    });
  });

  test('default TTL is 5 minutes; invalid TTLs are programmer errors', () => {
    const d = sampleDecision();
    assert.equal(draftApproval(d, [], { ...options, approvalId: 'a' }).expiresAt, T0 + 300_000);
    assert.throws(() => draftApproval(d, [], { ...options, approvalId: 'a', ttlMs: 0 }), RangeError);
    assert.throws(() => draftApproval(d, [], { ...options, approvalId: 'a', ttlMs: 1.5 }), RangeError);
  });

  test('refuses denied decisions and payloads the schema would refuse', () => {
    assert.throws(() => draftApproval(sampleDecision({ outcome: 'deny' }), [], { ...options, approvalId: 'a' }), (e: unknown) => code(e) === 'SNT_SIGN_NOT_PERMITTED');
    assert.throws(() => draftApproval(sampleDecision(), [], { ...options, approvalId: 'a', nonce: 'short' }), (e: unknown) => code(e) === 'SNT_SIGN_PAYLOAD_INVALID');
    assert.throws(() => draftApproval(humanDecision(), [], { ...options, approvalId: 'a' }), (e: unknown) => code(e) === 'SNT_SIGN_PAYLOAD_INVALID');
  });

  test('approval ids are deterministic per decision, so a re-signed decision cannot run twice', () => {
    assert.equal(approvalIdFor('dec-1'), approvalIdFor('dec-1'));
    assert.notEqual(approvalIdFor('dec-1'), approvalIdFor('dec-2'));
    assert.match(approvalIdFor('dec-1'), /^apr_[A-Za-z0-9_-]{43}$/);
  });
});

describe('signApproval / issueApproval', () => {
  const signer = testSigner('sign');
  const registry = createKeyRegistry([newKeyRecord({ publicKey: signer.publicKey, origin: 'local', now: T0 - 1000 })]);

  test('the signature is Ed25519 over PAE(type, canonical payload), keyid is the signer\'s', async () => {
    const d = sampleDecision();
    const p = draftApproval(d, [], { ...options, approvalId: approvalIdFor(d.decisionId) });
    const env = await signApproval(p, signer);
    assert.equal(env.payloadType, APPROVAL_PAYLOAD_TYPE);
    assert.equal(env.signatures.length, 1);
    assert.equal(env.signatures[0]?.keyid, signer.keyId);
    const decoded = decodeApprovalPayload(env.payload);
    assert.ok(decoded.ok);
    const key = createKeyRegistry([newKeyRecord({ publicKey: signer.publicKey, origin: 'local', now: 0 })]).entries.get(signer.keyId)!.key;
    assert.equal(verifyStrict(key, preAuthEncoding(APPROVAL_PAYLOAD_TYPE, env.payload), env.signatures[0]!.sig), 'ok');
  });

  test('refuses to sign invalid or over-large payloads', async () => {
    const d = sampleDecision();
    const p = draftApproval(d, [], { ...options, approvalId: 'a' });
    await assert.rejects(() => signApproval({ ...p, riskTier: 'extreme' as 'high' }, signer), (e: unknown) => code(e) === 'SNT_SIGN_PAYLOAD_INVALID');
    const ids = Array.from({ length: 16 }, (_, i) => `u-${'x'.repeat(150)}-${i}`);
    const big = humanDecision({ approvers: ids, required: 16 });
    const responses = ids.map((id) => sampleResponse(big, { userId: id, channel: 'slack', channelUserId: `${'s'.repeat(190)}${id.slice(-3)}`, displayName: null }));
    const auth = authorizeSigning(big, responses, { now: T0 + 120_000 });
    assert.ok(auth.ok);
    const payload = draftApproval(big, auth.approvers, { ...options, now: T0 + 120_000, approvalId: 'a' });
    await assert.rejects(() => signApproval(payload, signer), (e: unknown) => code(e) === 'SNT_SIGN_PAYLOAD_TOO_LARGE');
    assert.ok(Buffer.byteLength(JSON.stringify(payload)) > MAX_PAYLOAD_BYTES);
  });

  test('issueApproval: authorise, draft, sign, and the event for the approvals topic', async () => {
    const d = humanDecision();
    const r = await issueApproval(d, [sampleResponse(d, approverPrincipal('u-alice'))], signer, { ...options, now: T0 + 120_000 });
    assert.ok(r.ok);
    assert.equal(r.keyId, signer.keyId);
    assert.deepEqual(r.event, approvalEvent(d, r.payload, r.envelope));
    assert.equal(r.event.approvalId, approvalIdFor(d.decisionId));
    assert.deepEqual(r.event.action, d.action);
    const v = verifyApproval({ registry, now: T0 + 130_000, audience: 'aureus-executor', action: r.event.action, event: r.event }, r.event.envelope);
    assert.ok(v.ok);
  });

  test('issueApproval never calls the signer when the gate refuses', async () => {
    let calls = 0;
    const counting: Signer = { keyId: signer.keyId, publicKey: signer.publicKey, origin: 'local', sign: (data) => { calls++; return signer.sign(data); } };
    for (const d of [sampleDecision({ outcome: 'deny' }), humanDecision(), sampleDecision({ actionDigest: sha256Tagged('other') })]) {
      const r = await issueApproval(d, [], counting, options);
      assert.equal(r.ok, false);
    }
    assert.equal(calls, 0);
  });

  test('a signer returning a wrong-length signature is caught', async () => {
    const broken: Signer = { keyId: signer.keyId, publicKey: signer.publicKey, origin: 'local', sign: () => Promise.resolve(Buffer.alloc(63)) };
    await assert.rejects(() => issueApproval(sampleDecision(), [], broken, options), (e: unknown) => code(e) === 'SNT_INTERNAL');
  });
});

describe('LocalEd25519Signer', () => {
  test('RFC 8032 §7.1 TEST 2: public key and signature of the one-byte message 0x72', () => {
    const s = LocalEd25519Signer.fromSeed(Buffer.from('4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb', 'hex'));
    assert.equal(s.publicKey.toString('hex'), '3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c');
    assert.equal(s.signSync(Buffer.from([0x72])).toString('hex'),
      '92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da085ac1e43e15996e458f3613d0f11d8c387b2eaeb4302aeeb00d291612bb0c00');
  });

  test('loads a PKCS#8 PEM file; refuses missing files, other key types and garbage with SNT_CONFIG_INVALID', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'sentinel-key-'));
    try {
      const s = LocalEd25519Signer.generate();
      await writeFile(join(dir, 'key.pem'), s.exportPkcs8Pem());
      assert.equal((await LocalEd25519Signer.fromPemFile(join(dir, 'key.pem'))).keyId, s.keyId);
      await assert.rejects(() => LocalEd25519Signer.fromPemFile(join(dir, 'missing.pem')), (e: unknown) => code(e) === 'SNT_CONFIG_INVALID');
      const { generateKeyPairSync } = await import('node:crypto');
      const rsa = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({ format: 'pem', type: 'pkcs8' }).toString();
      assert.throws(() => LocalEd25519Signer.fromPkcs8Pem(rsa), (e: unknown) => code(e) === 'SNT_CONFIG_INVALID');
      assert.throws(() => LocalEd25519Signer.fromPkcs8Pem('not a key'), (e: unknown) => code(e) === 'SNT_CONFIG_INVALID');
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  test('never serialises its private key', () => {
    const s = LocalEd25519Signer.generate();
    assert.deepEqual(JSON.parse(JSON.stringify(s)), { keyId: s.keyId, origin: 'local' });
  });
});

describe('DelegatingSignerSource', () => {
  const parent = testSigner('delegating parent', 'kms');

  function source(clock: { now: number }, published: string[], fail?: { on: boolean }) {
    let parentCalls = 0;
    const counting: Signer = {
      keyId: parent.keyId, publicKey: parent.publicKey, origin: 'kms',
      sign: async (data) => {
        parentCalls++;
        if (fail?.on === true) throw Object.assign(new Error('throttled'), { name: 'ThrottlingException' });
        return parent.sign(data);
      },
    };
    const src = new DelegatingSignerSource({
      parent: counting, validityMs: 3_600_000, renewBeforeMs: 300_000, clock: () => clock.now,
      publish: async (record) => { published.push(record.keyId); },
    });
    return { src, calls: () => parentCalls };
  }

  test('one parent signature per delegated key; renewed near the end; published before use', async () => {
    const clock = { now: T0 };
    const published: string[] = [];
    const { src, calls } = source(clock, published);
    const first = await src.current();
    assert.equal(first.origin, 'kms-delegated');
    assert.deepEqual(published, [first.keyId]);
    for (let i = 0; i < 50; i++) assert.equal((await src.current()).keyId, first.keyId);
    assert.equal(calls(), 1);
    clock.now = T0 + 3_600_000 - 300_000;
    const second = await src.current();
    assert.notEqual(second.keyId, first.keyId);
    assert.equal(calls(), 2);
    assert.deepEqual(published, [first.keyId, second.keyId]);
  });

  test('renewal is single-flight under concurrency', async () => {
    const clock = { now: T0 };
    const { src, calls } = source(clock, []);
    const signers = await Promise.all(Array.from({ length: 20 }, () => src.current()));
    assert.equal(new Set(signers.map((s) => s.keyId)).size, 1);
    assert.equal(calls(), 1);
  });

  test('if renewal fails, the still-valid key keeps signing; once expired, the error surfaces', async () => {
    const clock = { now: T0 };
    const fail = { on: false };
    const { src } = source(clock, [], fail);
    const first = await src.current();
    fail.on = true;
    clock.now = T0 + 3_500_000; // inside renewBefore, still valid
    assert.equal((await src.current()).keyId, first.keyId);
    clock.now = T0 + 3_600_001; // expired
    await assert.rejects(() => src.current(), (e: unknown) => code(e) === 'SNT_KMS_FAILED');
  });

  test('approvals signed by the delegated key verify against the parent-rooted registry', async () => {
    const clock = { now: T0 };
    const records: SigningKeyRecord[] = [newKeyRecord({ publicKey: parent.publicKey, origin: 'kms', now: T0 - 1000 })];
    const src = new DelegatingSignerSource({ parent, clock: () => clock.now, publish: async (r) => { records.push(r); } });
    const r = await issueApproval(sampleDecision(), [], src, options);
    assert.ok(r.ok);
    const v = verifyApproval({ registry: createKeyRegistry(records), now: T0 + 1, audience: 'aureus-executor', action: ACTIONS.transfer, event: r.event }, r.envelope);
    assert.ok(v.ok, !v.ok ? v.reason : '');
  });
});

describe('KMS error mapping and public-key validation', () => {
  const named = (name: string, extra: Record<string, unknown> = {}) => Object.assign(new Error(name), { name, ...extra });

  for (const [name, expected, retriable] of [
    ['ThrottlingException', 'SNT_KMS_THROTTLED', true],
    ['DependencyTimeoutException', 'SNT_KMS_UNAVAILABLE', true],
    ['KeyUnavailableException', 'SNT_KMS_UNAVAILABLE', true],
    ['KMSInternalException', 'SNT_KMS_UNAVAILABLE', true],
    ['TimeoutError', 'SNT_KMS_UNAVAILABLE', true],
    ['DisabledException', 'SNT_KMS_KEY_DISABLED', false],
    ['KMSInvalidStateException', 'SNT_KMS_KEY_INVALID_STATE', false],
    ['NotFoundException', 'SNT_KMS_KEY_NOT_FOUND', false],
    ['AccessDeniedException', 'SNT_KMS_ACCESS_DENIED', false],
    ['InvalidKeyUsageException', 'SNT_KMS_KEY_MISCONFIGURED', false],
    ['ValidationException', 'SNT_KMS_KEY_MISCONFIGURED', false],
    ['SomethingNew', 'SNT_KMS_FAILED', false],
  ] as const) {
    test(`${name} -> ${expected} (${retriable ? 'retriable' : 'not retriable'})`, () => {
      const mapped = mapKmsError(named(name), 'Sign');
      assert.equal(mapped.code, expected);
      assert.equal(mapped.retriable, retriable);
      assert.equal(classifyFailure(mapped), retriable ? 'transient' : 'permanent');
      assert.equal((mapped.cause as Error).name, name);
    });
  }

  test('network errors and unclassified 5xx are unavailability', () => {
    assert.equal(mapKmsError(named('Error', { code: 'ECONNREFUSED' }), 'Sign').code, 'SNT_KMS_UNAVAILABLE');
    assert.equal(mapKmsError(named('Odd', { $metadata: { httpStatusCode: 502 } }), 'Sign').code, 'SNT_KMS_UNAVAILABLE');
  });

  const ed = LocalEd25519Signer.generate();
  const der = Buffer.concat([Buffer.from('302a300506032b6570032100', 'hex'), ed.publicKey]);
  const good = { KeyId: 'arn:aws:kms:us-east-1:111122223333:key/k', PublicKey: der, KeySpec: 'ECC_NIST_EDWARDS25519', KeyUsage: 'SIGN_VERIFY', SigningAlgorithms: ['ED25519_SHA_512'], $metadata: {} } as const;

  test('a valid GetPublicKey answer yields the ARN and raw key', () => {
    assert.deepEqual(checkKmsPublicKey({ ...good, SigningAlgorithms: [...good.SigningAlgorithms] }), { arn: good.KeyId, publicKey: ed.publicKey });
  });

  for (const [name, change, expected] of [
    ['another key spec', { KeySpec: 'ECC_NIST_P256' }, 'SNT_KMS_KEY_MISCONFIGURED'],
    ['another key usage', { KeyUsage: 'ENCRYPT_DECRYPT' }, 'SNT_KMS_KEY_MISCONFIGURED'],
    ['no ED25519_SHA_512', { SigningAlgorithms: ['ED25519_PH_SHA_512'] }, 'SNT_KMS_KEY_MISCONFIGURED'],
    ['no key id', { KeyId: undefined }, 'SNT_KMS_BAD_RESPONSE'],
    ['a truncated SPKI', { PublicKey: der.subarray(0, 40) }, 'SNT_KMS_BAD_RESPONSE'],
    ['a small-order key', { PublicKey: Buffer.concat([der.subarray(0, 12), Buffer.from('0100000000000000000000000000000000000000000000000000000000000000', 'hex')]) }, 'SNT_KMS_BAD_RESPONSE'],
  ] as const) {
    test(`GetPublicKey with ${name} is refused (${expected})`, () => {
      assert.throws(() => checkKmsPublicKey({ ...good, SigningAlgorithms: [...good.SigningAlgorithms], ...change } as Parameters<typeof checkKmsPublicKey>[0]), (e: unknown) => code(e) === expected);
    });
  }
});
