// verifyApproval: each named check with its code, and the order in which they run.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { canonicalize } from '../../../src/canonical/jcs.ts';
import type { Envelope } from '../../../src/domain/types.ts';
import { envelopeToJson } from '../../../src/approval/dsse.ts';
import { createKeyRegistry, findKey, newKeyRecord, registryAsOf, revokeKey } from '../../../src/approval/keys/index.ts';
import { APPROVAL_PAYLOAD_TYPE, type ApprovalPayload } from '../../../src/approval/payload.ts';
import { issueApproval, signApproval, signEnvelope } from '../../../src/approval/sign.ts';
import { delegateKey } from '../../../src/approval/signers/delegated.ts';
import { ACTIONS, T0, sampleDecision, testNonce, testSigner } from '../../../src/approval/testing/fixtures.ts';
import { CHECKS, type Verdict, type VerifyInput, verifyApproval, verifyApprovalJson } from '../../../src/approval/verify/index.ts';

const MIN = 60_000;
const signer = testSigner('verify main');
const other = testSigner('verify other');
const stranger = testSigner('verify stranger');
const kmsParent = testSigner('verify kms', 'kms');
const records = [
  newKeyRecord({ publicKey: signer.publicKey, origin: 'local', now: T0 - 86_400_000 }),
  newKeyRecord({ publicKey: other.publicKey, origin: 'local', now: T0 - 86_400_000 }),
  newKeyRecord({ publicKey: kmsParent.publicKey, origin: 'kms', now: T0 - 86_400_000 }),
];
const registry = createKeyRegistry(records);
const decision = sampleDecision();

async function issue(): Promise<{ payload: ApprovalPayload; envelope: Envelope }> {
  const r = await issueApproval(decision, [], signer, { now: T0, nonce: testNonce('v'), audience: 'aureus-executor', issuer: 'aureus-bridge' });
  assert.ok(r.ok);
  return r;
}

function input(overrides: Partial<VerifyInput> = {}): VerifyInput {
  return {
    registry, now: T0 + 1000, audience: 'aureus-executor', issuers: ['aureus-bridge'], action: decision.action,
    event: { intentId: decision.intentId, decisionId: decision.decisionId }, ...overrides,
  };
}

function expectRefused(v: Verdict, code: string, check: string): void {
  assert.equal(v.ok, false, 'expected a refusal');
  if (!v.ok) assert.deepEqual({ code: v.code, check: v.check }, { code, check }, v.reason);
}

describe('the pipeline', () => {
  test('a fresh approval verifies and returns its payload and key id', async () => {
    const { payload, envelope } = await issue();
    const v = verifyApproval(input(), envelope);
    assert.ok(v.ok);
    assert.deepEqual(v.payload, payload);
    assert.equal(v.keyId, signer.keyId);
  });

  test('the JSON form verifies the same way', async () => {
    const { envelope } = await issue();
    assert.ok(verifyApprovalJson(input(), JSON.parse(JSON.stringify(envelopeToJson(envelope)))).ok);
    expectRefused(verifyApprovalJson(input(), { payloadType: APPROVAL_PAYLOAD_TYPE }), 'SNT_APPROVAL_MALFORMED', 'envelope');
  });

  test('checks run in the documented order: the first failing one decides', async () => {
    assert.deepEqual([...CHECKS], ['envelope', 'payload_type', 'key', 'signature', 'payload', 'key_validity', 'audience', 'issuer', 'time', 'binding', 'single_use']);
    const { payload, envelope } = await issue();
    // Wrong payload type AND unknown key: payload_type wins.
    expectRefused(verifyApproval(input(), { ...envelope, payloadType: 'x', signatures: [{ keyid: stranger.keyId, sig: Buffer.alloc(64) }] }), 'SNT_APPROVAL_PAYLOAD_TYPE', 'payload_type');
    // Expired AND wrong audience AND replayed: audience wins (it runs before time and single use).
    const late = await signApproval({ ...payload, audience: 'elsewhere' }, signer);
    expectRefused(verifyApproval(input({ now: T0 + 60 * MIN, seen: () => true }), late), 'SNT_APPROVAL_AUDIENCE', 'audience');
    // Bad signature over a payload that is also malformed: signature wins (no parsing of unauthenticated bytes).
    expectRefused(verifyApproval(input(), { ...envelope, payload: Buffer.from('{"not":"an approval"}') }), 'SNT_APPROVAL_SIGNATURE_INVALID', 'signature');
  });

  test('failures after the signature check carry the authenticated payload for audit; earlier ones do not', async () => {
    const { envelope } = await issue();
    const late = verifyApproval(input({ now: T0 + 60 * MIN }), envelope);
    assert.ok(!late.ok && late.payload !== null && late.keyId === signer.keyId);
    const forged = verifyApproval(input(), { ...envelope, signatures: [{ keyid: signer.keyId, sig: Buffer.alloc(64, 1) }] });
    assert.ok(!forged.ok && forged.payload === null);
  });
});

describe('each check', () => {
  test('envelope: exactly one signature, bytes, size bound', async () => {
    const { envelope } = await issue();
    expectRefused(verifyApproval(input(), { ...envelope, signatures: [] }), 'SNT_APPROVAL_MALFORMED', 'envelope');
    expectRefused(verifyApproval(input(), { ...envelope, signatures: [...envelope.signatures, ...envelope.signatures] }), 'SNT_APPROVAL_MALFORMED', 'envelope');
    expectRefused(verifyApproval(input(), { ...envelope, signatures: [{ keyid: '', sig: envelope.signatures[0]!.sig }] }), 'SNT_APPROVAL_MALFORMED', 'envelope');
    expectRefused(verifyApproval(input(), { ...envelope, payload: Buffer.alloc(4001, 0x20) }), 'SNT_APPROVAL_MALFORMED', 'envelope');
    expectRefused(verifyApproval(input(), null as unknown as Envelope), 'SNT_APPROVAL_MALFORMED', 'envelope');
    expectRefused(verifyApproval(input(), { ...envelope, payload: 'text' as unknown as Buffer }), 'SNT_APPROVAL_MALFORMED', 'envelope');
  });

  test('payload_type: byte-exact', async () => {
    const { envelope } = await issue();
    for (const payloadType of ['application/vnd.aureus.approval+json', 'application/vnd.aureus.approval+json;version=1', 'Application/vnd.aureus.approval+json; version=1']) {
      const resigned = await signEnvelope(payloadType, envelope.payload, signer);
      expectRefused(verifyApproval(input(), resigned), 'SNT_APPROVAL_PAYLOAD_TYPE', 'payload_type');
    }
  });

  test('key: unknown, revoked; a key carried in the message is never used', async () => {
    const { payload } = await issue();
    expectRefused(verifyApproval(input(), await signApproval(payload, stranger)), 'SNT_APPROVAL_KEY_UNKNOWN', 'key');
    const revoked = revokeKey(registry, signer.keyId, T0 - 1);
    expectRefused(verifyApproval(input({ registry: revoked }), await signApproval(payload, signer)), 'SNT_APPROVAL_KEY_REVOKED', 'key');
  });

  test('key: for replay, the registry as it stood at T accepts what a later revocation refuses', async () => {
    const { envelope } = await issue();
    const revokedLater = revokeKey(registry, signer.keyId, T0 + 30 * MIN);
    expectRefused(verifyApproval(input({ registry: revokedLater }), envelope), 'SNT_APPROVAL_KEY_REVOKED', 'key');
    assert.ok(verifyApproval(input({ registry: registryAsOf(revokedLater, T0 + 1000) }), envelope).ok);
  });

  test('signature: wrong key id, flipped bit, S + L, wrong length', async () => {
    const { envelope } = await issue();
    const sig = envelope.signatures[0]!.sig;
    expectRefused(verifyApproval(input(), { ...envelope, signatures: [{ keyid: other.keyId, sig }] }), 'SNT_APPROVAL_SIGNATURE_INVALID', 'signature');
    const flipped = Buffer.from(sig);
    flipped[0] = (flipped[0] ?? 0) ^ 0x80;
    const r = verifyApproval(input(), { ...envelope, signatures: [{ keyid: signer.keyId, sig: flipped }] });
    assert.ok(!r.ok && r.check === 'signature');
    expectRefused(verifyApproval(input(), { ...envelope, signatures: [{ keyid: signer.keyId, sig: sig.subarray(0, 32) }] }), 'SNT_APPROVAL_SIGNATURE_INVALID', 'signature');
    const high = Buffer.from(sig);
    high[63] = 0xff; // S far above L
    expectRefused(verifyApproval(input(), { ...envelope, signatures: [{ keyid: signer.keyId, sig: high }] }), 'SNT_APPROVAL_SIGNATURE_NONCANONICAL', 'signature');
  });

  test('payload: non-canonical and malformed payloads are refused even when validly signed', async () => {
    const { payload } = await issue();
    const pretty = await signEnvelope(APPROVAL_PAYLOAD_TYPE, Buffer.from(JSON.stringify(payload, null, 1)), signer);
    expectRefused(verifyApproval(input(), pretty), 'SNT_APPROVAL_PAYLOAD_NONCANONICAL', 'payload');
    const extra = await signEnvelope(APPROVAL_PAYLOAD_TYPE, Buffer.from(canonicalize({ ...payload, role: 'admin' })), signer);
    expectRefused(verifyApproval(input(), extra), 'SNT_APPROVAL_MALFORMED', 'payload');
  });

  test('key_validity: issuedAt must fall in the key\'s window', async () => {
    const { payload } = await issue();
    const before = await signApproval({ ...payload, issuedAt: T0 - 2 * 86_400_000, notBefore: T0 - 2 * 86_400_000 + 1, expiresAt: T0 - 2 * 86_400_000 + 2 }, signer);
    expectRefused(verifyApproval(input(), before), 'SNT_APPROVAL_KEY_NOT_VALID', 'key_validity');
    const entry = findKey(registry, signer.keyId)!;
    const after = { ...payload, issuedAt: entry.record.notAfter + 1, notBefore: entry.record.notAfter + 1, expiresAt: entry.record.notAfter + 2 };
    expectRefused(verifyApproval(input({ now: entry.record.notAfter + 1 }), await signApproval(after, signer)), 'SNT_APPROVAL_KEY_NOT_VALID', 'key_validity');
  });

  test('audience and issuer: exact strings; issuers unchecked when the verifier names none', async () => {
    const { payload } = await issue();
    expectRefused(verifyApproval(input(), await signApproval({ ...payload, audience: 'aureus-executor ' }, signer)), 'SNT_APPROVAL_AUDIENCE', 'audience');
    const otherIssuer = await signApproval({ ...payload, issuer: 'someone' }, signer);
    expectRefused(verifyApproval(input(), otherIssuer), 'SNT_APPROVAL_ISSUER', 'issuer');
    const { issuers: _issuers, ...anyIssuer } = input();
    assert.ok(verifyApproval(anyIssuer, otherIssuer).ok);
  });

  test('time: skew bounds on both sides, and the maximum lifetime', async () => {
    const { payload, envelope } = await issue(); // notBefore T0, expiresAt T0 + 5 min
    const skew = 30_000;
    assert.ok(verifyApproval(input({ now: T0 - skew }), envelope).ok);
    expectRefused(verifyApproval(input({ now: T0 - skew - 1 }), envelope), 'SNT_APPROVAL_NOT_YET_VALID', 'time');
    assert.ok(verifyApproval(input({ now: payload.expiresAt + skew - 1 }), envelope).ok);
    expectRefused(verifyApproval(input({ now: payload.expiresAt + skew }), envelope), 'SNT_APPROVAL_EXPIRED', 'time');
    expectRefused(verifyApproval(input({ now: payload.expiresAt, clockSkewMs: 0 }), envelope), 'SNT_APPROVAL_EXPIRED', 'time');
    const long = await signApproval({ ...payload, expiresAt: payload.notBefore + 15 * MIN + 1 }, signer);
    expectRefused(verifyApproval(input(), long), 'SNT_APPROVAL_TTL_TOO_LONG', 'time');
    assert.ok(verifyApproval(input({ maxTtlMs: 20 * MIN }), long).ok);
    expectRefused(verifyApproval(input({ maxTtlMs: 4 * MIN }), envelope), 'SNT_APPROVAL_TTL_TOO_LONG', 'time');
  });

  test('binding: the digest is recomputed from the action about to run; ids must match the event', async () => {
    const { payload, envelope } = await issue();
    expectRefused(verifyApproval(input({ action: { ...ACTIONS.transfer, amountMinor: 50_001 } }), envelope), 'SNT_APPROVAL_DIGEST_MISMATCH', 'binding');
    expectRefused(verifyApproval(input({ action: { ...ACTIONS.transfer, memo: null } }), envelope), 'SNT_APPROVAL_DIGEST_MISMATCH', 'binding');
    expectRefused(verifyApproval(input({ action: { ...ACTIONS.transfer, amountMinor: 2 ** 60 } }), envelope), 'SNT_APPROVAL_DIGEST_MISMATCH', 'binding');
    expectRefused(verifyApproval(input({ event: { intentId: 'int-x', decisionId: decision.decisionId } }), envelope), 'SNT_APPROVAL_BINDING_MISMATCH', 'binding');
    expectRefused(verifyApproval(input({ event: { intentId: decision.intentId, decisionId: 'dec-x' } }), envelope), 'SNT_APPROVAL_BINDING_MISMATCH', 'binding');
    expectRefused(verifyApproval(input({ event: { intentId: decision.intentId, decisionId: decision.decisionId, approvalId: 'apr-x' } }), envelope), 'SNT_APPROVAL_BINDING_MISMATCH', 'binding');
    assert.ok(verifyApproval(input({ event: { intentId: decision.intentId, decisionId: decision.decisionId, approvalId: payload.approvalId } }), envelope).ok);
    const typeLie = await signApproval({ ...payload, actionType: 'command_run' }, signer);
    expectRefused(verifyApproval(input(), typeLie), 'SNT_APPROVAL_DIGEST_MISMATCH', 'binding');
  });

  test('single_use: the seen predicate is asked with the approval id', async () => {
    const { payload, envelope } = await issue();
    const asked: string[] = [];
    expectRefused(verifyApproval(input({ seen: (id) => { asked.push(id); return true; } }), envelope), 'SNT_APPROVAL_REPLAYED', 'single_use');
    assert.deepEqual(asked, [payload.approvalId]);
    assert.ok(verifyApproval(input({ seen: () => false }), envelope).ok);
  });
});

describe('delegated keys', () => {
  test('an approval signed by a delegated key verifies through the registered chain', async () => {
    const d = await delegateKey(kmsParent, { now: T0 - MIN, validityMs: 3_600_000 });
    const reg = createKeyRegistry([...records, d.record]);
    const r = await issueApproval(decision, [], d, { now: T0, nonce: testNonce('d'), audience: 'aureus-executor', issuer: 'aureus-bridge' });
    assert.ok(r.ok);
    const v = verifyApproval(input({ registry: reg }), r.envelope);
    assert.ok(v.ok);
    assert.equal(v.keyId, d.keyId);
    expectRefused(verifyApproval(input(), r.envelope), 'SNT_APPROVAL_KEY_UNKNOWN', 'key');
    expectRefused(verifyApproval(input({ registry: revokeKey(reg, kmsParent.keyId, T0) }), r.envelope), 'SNT_APPROVAL_KEY_REVOKED', 'key');
  });
});
