// Key ids, the registry model (validation, revocation, retirement, "as of T"), delegation
// certificates, rotation policy, and the JWKS / topic serialisations.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { SigningKeyRecord } from '../../../src/domain/types.ts';
import { isSentinelError } from '../../../src/errors/index.ts';
import { preAuthEncoding } from '../../../src/approval/dsse.ts';
import { SMALL_ORDER_ENCODINGS } from '../../../src/approval/ed25519.ts';
import { encodeBase64Url } from '../../../src/approval/encoding.ts';
import {
  DELEGATION_PAYLOAD_TYPE, DEFAULT_ROTATION_POLICY, createKeyRegistry, decodeDelegationCertificate, deriveKeyId,
  emptyKeyRegistry, encodeDelegationCertificate, findKey, isRevoked, keyRecordFromJwk, listKeyRecords, newKeyRecord,
  parseKeyRecord, registerKey, registerKeys, registryAsOf, registryFromJwks, retireKey, revokeKey, rotateKey, rotationDue,
  rotationPolicyFromDays, serializeKeyRecord, toJwks,
} from '../../../src/approval/keys/index.ts';
import { delegateKey } from '../../../src/approval/signers/delegated.ts';
import { LocalEd25519Signer } from '../../../src/approval/signers/local.ts';
import { T0, testSigner } from '../../../src/approval/testing/fixtures.ts';

const DAY = 86_400_000;
const HOUR = 3_600_000;

function rejects(fn: () => unknown, code: string): void {
  assert.throws(fn, (error: unknown) => isSentinelError(error) && error.code === code);
}

describe('key ids', () => {
  test('RFC 8037 Appendix A.3: the thumbprint of the RFC 8032 test key is kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k', () => {
    const pub = Buffer.from('d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a', 'hex');
    assert.equal(encodeBase64Url(pub), '11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo');
    assert.equal(deriveKeyId(pub), 'kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k');
  });

  test('different keys, different ids; wrong lengths are a programmer error', () => {
    assert.notEqual(testSigner('a').keyId, testSigner('b').keyId);
    assert.throws(() => deriveKeyId(Buffer.alloc(31)), RangeError);
  });
});

describe('registry', () => {
  const a = testSigner('registry a');
  const b = testSigner('registry b');
  const recA = newKeyRecord({ publicKey: a.publicKey, origin: 'local', now: T0 });
  const recB = newKeyRecord({ publicKey: b.publicKey, origin: 'kms', now: T0 + DAY });

  test('registers records and builds each KeyObject once', () => {
    const reg = createKeyRegistry([recA, recB]);
    assert.equal(reg.entries.size, 2);
    const entry = findKey(reg, a.keyId);
    assert.ok(entry);
    assert.equal(entry.key.asymmetricKeyType, 'ed25519');
    assert.equal(findKey(registerKey(reg, { ...recA }), a.keyId)?.key, entry.key);
    assert.deepEqual(listKeyRecords(reg).map((r) => r.keyId), [a.keyId, b.keyId]);
  });

  test('refuses a record whose id is not derived from its key', () => {
    rejects(() => registerKey(emptyKeyRegistry(), { ...recA, keyId: b.keyId }), 'SNT_KEY_ID_MISMATCH');
  });

  test('refuses small-order and non-canonical public keys', () => {
    for (const hex of SMALL_ORDER_ENCODINGS) {
      const publicKey = Buffer.from(hex, 'hex');
      rejects(() => registerKey(emptyKeyRegistry(), { ...recA, publicKey, keyId: deriveKeyId(publicKey) }), 'SNT_KEY_INVALID');
    }
    const nonCanonical = Buffer.from('edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f', 'hex');
    rejects(() => registerKey(emptyKeyRegistry(), { ...recA, publicKey: nonCanonical, keyId: deriveKeyId(nonCanonical) }), 'SNT_KEY_INVALID');
  });

  for (const [name, change] of [
    ['an inverted window', { notAfter: T0 - 1 }],
    ['revoked without revokedAt', { status: 'revoked' }],
    ['revokedAt on an active key', { revokedAt: T0 }],
    ['an unknown origin', { origin: 'hsm' }],
    ['a delegated origin without certificate', { origin: 'kms-delegated' }],
    ['a fractional time', { createdAt: 1.5 }],
    ['an unknown status', { status: 'paused' }],
  ] as const) {
    test(`refuses ${name}`, () => {
      rejects(() => registerKey(emptyKeyRegistry(), { ...recA, ...change } as SigningKeyRecord), 'SNT_KEY_INVALID');
    });
  }

  test('revocation and retirement are one-way when a stale record arrives again', () => {
    let reg = createKeyRegistry([recA]);
    reg = revokeKey(reg, a.keyId, T0 + HOUR);
    reg = registerKey(reg, recA); // the old "active" version replayed from the topic
    const r = findKey(reg, a.keyId)?.record;
    assert.equal(r?.status, 'revoked');
    assert.equal(r?.revokedAt, T0 + HOUR);
    reg = revokeKey(reg, a.keyId, T0 + 2 * HOUR);
    assert.equal(findKey(reg, a.keyId)?.record.revokedAt, T0 + HOUR, 'the earliest revocation time wins');
    let reg2 = retireKey(createKeyRegistry([recA]), a.keyId, T0 + DAY);
    reg2 = registerKey(reg2, recA);
    assert.equal(findKey(reg2, a.keyId)?.record.status, 'retired');
    assert.equal(findKey(reg2, a.keyId)?.record.notAfter, T0 + DAY);
  });

  test('a record claiming another origin is refused; a re-publication (restart) keeps the first window start', () => {
    const reg = createKeyRegistry([recA]);
    rejects(() => registerKey(reg, { ...recA, origin: 'kms' }), 'SNT_KEY_INVALID');
    const restarted = newKeyRecord({ publicKey: a.publicKey, origin: 'local', now: T0 + 3 * DAY });
    const merged = findKey(registerKey(reg, restarted), a.keyId)?.record;
    assert.deepEqual({ notBefore: merged?.notBefore, createdAt: merged?.createdAt, notAfter: merged?.notAfter }, { notBefore: T0, createdAt: T0, notAfter: recA.notAfter });
  });

  test('changes return a new registry and leave the old one as it was', () => {
    const reg = createKeyRegistry([recA]);
    const revoked = revokeKey(reg, a.keyId, T0);
    assert.equal(findKey(reg, a.keyId)?.record.status, 'active');
    assert.equal(findKey(revoked, a.keyId)?.record.status, 'revoked');
    rejects(() => revokeKey(reg, b.keyId, T0), 'SNT_NOT_FOUND');
  });

  test('as it stood at time T: later keys absent, later revocations undone, expired keys retired', () => {
    const reg = revokeKey(createKeyRegistry([recA, recB]), a.keyId, T0 + 10 * DAY);
    const early = registryAsOf(reg, T0 + HOUR);
    assert.deepEqual([...early.entries.keys()], [a.keyId]);
    assert.equal(findKey(early, a.keyId)?.record.status, 'active');
    assert.equal(findKey(early, a.keyId)?.record.revokedAt, null);
    const later = registryAsOf(reg, T0 + 10 * DAY);
    assert.equal(findKey(later, a.keyId)?.record.status, 'revoked');
    const muchLater = registryAsOf(createKeyRegistry([recA]), recA.notAfter + 1);
    assert.equal(findKey(muchLater, a.keyId)?.record.status, 'retired');
  });
});

describe('delegation certificates', () => {
  const parent = testSigner('delegation parent', 'kms');
  const parentRecord = newKeyRecord({ publicKey: parent.publicKey, origin: 'kms', now: T0 - DAY });

  test('a delegated key registers after its parent and verifies the chain', async () => {
    const d = await delegateKey(parent, { now: T0, validityMs: HOUR });
    const reg = createKeyRegistry([d.record, parentRecord]); // any order
    const entry = findKey(reg, d.keyId);
    assert.equal(entry?.parentKeyId, parent.keyId);
    assert.equal(entry?.record.notAfter, T0 + HOUR);
    assert.equal(isRevoked(reg, entry!), false);
    assert.equal(isRevoked(revokeKey(reg, parent.keyId, T0), entry!), true, 'revoking the parent revokes its delegates');
  });

  test('registerKeys: a batch in topic order (delegate before parent) converges; bad records are returned, not thrown', async () => {
    const d = await delegateKey(parent, { now: T0, validityMs: HOUR });
    const orphan = await delegateKey(testSigner('orphan parent', 'kms'), { now: T0, validityMs: HOUR });
    const { registry: reg, rejected } = registerKeys(emptyKeyRegistry(), [d.record, orphan.record, parentRecord, { ...parentRecord, keyId: d.keyId }]);
    assert.ok(findKey(reg, d.keyId) && findKey(reg, parent.keyId));
    assert.deepEqual(rejected.map((r) => r.error.code).sort(), ['SNT_KEY_CERTIFICATE_INVALID', 'SNT_KEY_ID_MISMATCH']);
  });

  test('refuses a certificate without its parent, by another parent, tampered, or for another key', async () => {
    const d = await delegateKey(parent, { now: T0, validityMs: HOUR });
    rejects(() => createKeyRegistry([d.record]), 'SNT_KEY_CERTIFICATE_INVALID');
    const impostor = testSigner('impostor', 'kms');
    const byImpostor = await delegateKey(impostor, { now: T0, validityMs: HOUR, key: testSigner('delegated x', 'kms-delegated') });
    const forged = { ...byImpostor.record, certificate: { ...byImpostor.record.certificate!, signatures: [{ keyid: parent.keyId, sig: byImpostor.certificate.signatures[0]!.sig }] } };
    rejects(() => createKeyRegistry([parentRecord, forged]), 'SNT_KEY_CERTIFICATE_INVALID');
    const tampered = Buffer.from(d.certificate.payload.toString('utf8').replace(`"notAfter":${T0 + HOUR}`, `"notAfter":${T0 + 2 * HOUR}`));
    rejects(() => createKeyRegistry([parentRecord, { ...d.record, notAfter: T0 + 2 * HOUR, certificate: { ...d.certificate, payload: tampered } }]), 'SNT_KEY_CERTIFICATE_INVALID');
    const other = await delegateKey(parent, { now: T0, validityMs: HOUR });
    rejects(() => createKeyRegistry([parentRecord, { ...d.record, certificate: other.certificate }]), 'SNT_KEY_CERTIFICATE_INVALID');
    rejects(() => createKeyRegistry([parentRecord, { ...d.record, notAfter: T0 + 2 * HOUR }]), 'SNT_KEY_CERTIFICATE_INVALID');
  });

  test('refuses a certificate issued outside the parent\'s window, and delegated keys certifying keys', async () => {
    const late = await delegateKey(parent, { now: parentRecord.notAfter + 1, validityMs: HOUR });
    rejects(() => createKeyRegistry([parentRecord, late.record]), 'SNT_KEY_CERTIFICATE_INVALID');
    const d = await delegateKey(parent, { now: T0, validityMs: HOUR });
    await assert.rejects(() => delegateKey(d, { now: T0 }), TypeError);
  });

  test('certificate bytes are strict: exact members, canonical, window at most 24 h, consistent key id', () => {
    const key = testSigner('cert subject');
    const good = { delegatedKeyId: key.keyId, publicKey: encodeBase64Url(key.publicKey), parentKeyId: parent.keyId, issuedAt: T0, notBefore: T0, notAfter: T0 + HOUR, purpose: 'approval-signing' as const };
    assert.ok(decodeDelegationCertificate(encodeDelegationCertificate(good)).ok);
    assert.equal(decodeDelegationCertificate(Buffer.from(JSON.stringify(good))).ok, false, 'member order is not canonical');
    assert.equal(decodeDelegationCertificate(encodeDelegationCertificate({ ...good, notAfter: T0 + DAY + 1 })).ok, false);
    assert.equal(decodeDelegationCertificate(encodeDelegationCertificate({ ...good, delegatedKeyId: parent.keyId })).ok, false);
    assert.equal(decodeDelegationCertificate(encodeDelegationCertificate({ ...good, purpose: 'anything' as 'approval-signing' })).ok, false);
    assert.equal(decodeDelegationCertificate(Buffer.from(JSON.stringify({ ...good, extra: 1 }))).ok, false);
    // the certificate payload type is distinct from the approval's: domain separation
    assert.notEqual(DELEGATION_PAYLOAD_TYPE, 'application/vnd.aureus.approval+json; version=1');
    assert.ok(preAuthEncoding(DELEGATION_PAYLOAD_TYPE, Buffer.alloc(0)).toString().includes('key-delegation'));
  });

  test('delegation validity is bounded', async () => {
    await assert.rejects(() => delegateKey(parent, { now: T0, validityMs: DAY + 1 }), RangeError);
    await assert.rejects(() => delegateKey(parent, { now: T0, validityMs: 0 }), RangeError);
  });
});

describe('rotation policy', () => {
  const key = testSigner('rotation');
  const record = newKeyRecord({ publicKey: key.publicKey, origin: 'local', now: T0 });

  test('new keys are valid for the rotation period plus grace (30 + 7 days by default)', () => {
    assert.equal(record.notAfter - record.notBefore, 37 * DAY);
    assert.equal(rotationPolicyFromDays(7).rotationMs, 7 * DAY);
    assert.throws(() => rotationPolicyFromDays(0), RangeError);
  });

  test('rotation is due by age, near the end of the window, when not active, or on demand', () => {
    assert.deepEqual(rotationDue(record, T0 + 29 * DAY), { due: false });
    assert.deepEqual(rotationDue(record, T0 + 30 * DAY), { due: true, reason: 'age' });
    assert.deepEqual(rotationDue(record, record.notAfter - DEFAULT_ROTATION_POLICY.renewBeforeMs, { ...DEFAULT_ROTATION_POLICY, rotationMs: 100 * DAY }), { due: true, reason: 'expiring' });
    assert.deepEqual(rotationDue({ ...record, status: 'retired' }, T0), { due: true, reason: 'not_active' });
    assert.deepEqual(rotationDue(record, T0, DEFAULT_ROTATION_POLICY, true), { due: true, reason: 'on_demand' });
  });

  test('rotating retires the old key (kept for verification) and registers the new one', () => {
    const next = newKeyRecord({ publicKey: testSigner('rotation next').publicKey, origin: 'local', now: T0 + 30 * DAY });
    const reg = rotateKey(createKeyRegistry([record]), record.keyId, next, T0 + 30 * DAY);
    assert.equal(findKey(reg, record.keyId)?.record.status, 'retired');
    assert.equal(findKey(reg, record.keyId)?.record.notAfter, T0 + 30 * DAY);
    assert.equal(findKey(reg, next.keyId)?.record.status, 'active');
  });
});

describe('JWKS view and topic serialisation', () => {
  test('JWKS entries carry RFC 7517/8037 members and the lifecycle, and read back into an equal registry', async () => {
    const parent = testSigner('jwks parent', 'kms');
    const parentRecord = newKeyRecord({ publicKey: parent.publicKey, origin: 'kms', now: T0 - DAY });
    const d = await delegateKey(parent, { now: T0, validityMs: HOUR });
    const local = { ...newKeyRecord({ publicKey: testSigner('jwks local').publicKey, origin: 'local', now: T0 - 2 * DAY }), status: 'revoked' as const, revokedAt: T0 };
    const jwks = toJwks(createKeyRegistry([parentRecord, d.record, local]));
    assert.equal(jwks.keys.length, 3);
    const first = jwks.keys[0]!;
    assert.deepEqual(
      { kty: first.kty, crv: first.crv, use: first.use, alg: first.alg, kid: first.kid, status: first.status },
      { kty: 'OKP', crv: 'Ed25519', use: 'sig', alg: 'EdDSA', kid: local.keyId, status: 'revoked' },
    );
    const again = registryFromJwks(JSON.parse(JSON.stringify(jwks)));
    assert.deepEqual(listKeyRecords(again), listKeyRecords(createKeyRegistry([parentRecord, d.record, local])));
  });

  test('a record round-trips through its topic bytes (canonical JSON of its JWK)', () => {
    const record = newKeyRecord({ publicKey: testSigner('topic').publicKey, origin: 'local', now: T0 });
    const bytes = serializeKeyRecord(record);
    assert.deepEqual(parseKeyRecord(bytes), record);
    assert.equal(bytes.toString('utf8')[0], '{');
  });

  for (const [name, jwk] of [
    ['a non-OKP key', { kty: 'EC', crv: 'P-256', kid: 'k', x: 'AA', status: 'active', notBefore: 0, notAfter: 1, createdAt: 0, origin: 'local' }],
    ['a bad x', { kty: 'OKP', crv: 'Ed25519', kid: 'k', x: 'AA', status: 'active', notBefore: 0, notAfter: 1, createdAt: 0, origin: 'local' }],
    ['an unknown status', { kty: 'OKP', crv: 'Ed25519', kid: 'k', x: encodeBase64Url(Buffer.alloc(32)), status: 'on', notBefore: 0, notAfter: 1, createdAt: 0, origin: 'local' }],
    ['a string time', { kty: 'OKP', crv: 'Ed25519', kid: 'k', x: encodeBase64Url(Buffer.alloc(32)), status: 'active', notBefore: '0', notAfter: 1, createdAt: 0, origin: 'local' }],
    ['alg RS256', { kty: 'OKP', crv: 'Ed25519', alg: 'RS256', kid: 'k', x: encodeBase64Url(Buffer.alloc(32)), status: 'active', notBefore: 0, notAfter: 1, createdAt: 0, origin: 'local' }],
  ] as const) {
    test(`JWK refused: ${name}`, () => {
      rejects(() => keyRecordFromJwk(jwk), 'SNT_KEY_INVALID');
    });
  }

  test('a local signer from PEM has the same id as from its seed', () => {
    const s = testSigner('pem');
    assert.equal(LocalEd25519Signer.fromPkcs8Pem(s.exportPkcs8Pem()).keyId, s.keyId);
  });
});
