// Strict Ed25519: every Wycheproof vector, the explicit encoding checks, registration-time key checks,
// and a differential test against @noble/curves in strict mode (zip215: false).
import assert from 'node:assert/strict';
import { generateKeyPairSync, sign as cryptoSign } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { ed25519 } from '@noble/curves/ed25519.js';
import fc from 'fast-check';
import {
  ED25519_L, ED25519_P, SMALL_ORDER_ENCODINGS, isCanonicalPointEncoding, isCanonicalScalar, parseEd25519Spki,
  publicKeyObject, publicKeyProblem, rawPublicKey, signatureEncodingProblem, verifyStrict,
} from '../../../src/approval/ed25519.ts';

const REPO_ROOT = join(import.meta.dirname, '..', '..', '..');
const WYCHEPROOF = join(REPO_ROOT, '..', 'shared', 'vectors', 'wycheproof', 'ed25519_test.json');

interface WycheproofFile {
  numberOfTests: number;
  testGroups: Array<{ publicKey: { pk: string }; publicKeyDer: string; tests: Array<{ tcId: number; comment: string; flags: string[]; msg: string; sig: string; result: 'valid' | 'invalid' }> }>;
}

function loadWycheproof(): WycheproofFile {
  if (!existsSync(WYCHEPROOF)) {
    throw new Error(`Wycheproof vectors missing: expected ${WYCHEPROOF} (../shared/vectors/wycheproof/ed25519_test.json next to the repository)`);
  }
  return JSON.parse(readFileSync(WYCHEPROOF, 'utf8')) as WycheproofFile;
}

function le(n: bigint): Buffer {
  const out = Buffer.alloc(32);
  let v = n;
  for (let i = 0; i < 32; i++) { out[i] = Number(v & 0xffn); v >>= 8n; }
  return out;
}

function nobleStrict(sig: Uint8Array, msg: Uint8Array, pub: Uint8Array): boolean {
  try {
    return ed25519.verify(sig, msg, pub, { zip215: false });
  } catch {
    return false;
  }
}

const registered = new Map<string, ReturnType<typeof publicKeyObject> | null>();

/** Ours, end to end: the key must pass registration (checked once per key), then the strict verify. */
function oursStrict(sig: Uint8Array, msg: Uint8Array, pub: Uint8Array): boolean {
  const hex = Buffer.from(pub).toString('hex');
  let key = registered.get(hex);
  if (key === undefined) {
    key = publicKeyProblem(pub) === null ? publicKeyObject(pub) : null;
    registered.set(hex, key);
  }
  return key !== null && verifyStrict(key, msg, sig) === 'ok';
}

describe('Wycheproof ed25519_test.json (C2SP/wycheproof)', () => {
  const file = loadWycheproof();
  const cases = file.testGroups.flatMap((g) => g.tests.map((t) => ({ group: g, t })));

  test('the file has its 151 tests', () => {
    assert.equal(file.numberOfTests, 151);
    assert.equal(cases.length, 151);
  });

  test('every group key passes registration (canonical, prime order) and matches its DER SPKI', () => {
    for (const g of file.testGroups) {
      const pk = Buffer.from(g.publicKey.pk, 'hex');
      assert.equal(publicKeyProblem(pk), null, g.publicKey.pk);
      assert.deepEqual(parseEd25519Spki(Buffer.from(g.publicKeyDer, 'hex')), pk);
    }
  });

  test('verifyStrict returns the expected result for all 151 cases', () => {
    const wrong: string[] = [];
    for (const { group, t } of cases) {
      const key = publicKeyObject(Buffer.from(group.publicKey.pk, 'hex'));
      const ok = verifyStrict(key, Buffer.from(t.msg, 'hex'), Buffer.from(t.sig, 'hex')) === 'ok';
      if (ok !== (t.result === 'valid')) wrong.push(`tcId ${t.tcId} (${t.flags.join(',')}): got ${ok}`);
    }
    assert.deepEqual(wrong, []);
  });

  test('malleability cases are refused as non-canonical (S >= L) before any arithmetic', () => {
    const malleable = cases.filter(({ t }) => t.flags.includes('SignatureMalleability'));
    assert.ok(malleable.length >= 4);
    for (const { group, t } of malleable) {
      const sig = Buffer.from(t.sig, 'hex');
      if (sig.length !== 64) continue;
      const result = verifyStrict(publicKeyObject(Buffer.from(group.publicKey.pk, 'hex')), Buffer.from(t.msg, 'hex'), sig);
      assert.notEqual(result, 'ok', `tcId ${t.tcId}`);
    }
  });

  test('differential: @noble/curves strict mode agrees on every case', () => {
    for (const { group, t } of cases) {
      const pub = Buffer.from(group.publicKey.pk, 'hex');
      const msg = Buffer.from(t.msg, 'hex');
      const sig = Buffer.from(t.sig, 'hex');
      const noble = sig.length === 64 ? nobleStrict(sig, msg, pub) : false;
      assert.equal(oursStrict(sig, msg, pub), noble, `tcId ${t.tcId}`);
    }
  });
});

describe('signature encoding checks', () => {
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  const msg = Buffer.from('approve');
  const sig = cryptoSign(null, msg, privateKey);

  test('a fresh signature passes every check', () => {
    assert.equal(signatureEncodingProblem(sig), null);
    assert.equal(verifyStrict(publicKey, msg, sig), 'ok');
  });

  test('S + L: node:crypto would reject it too, but the explicit check names it', () => {
    const s = BigInt(`0x${Buffer.from(sig.subarray(32)).reverse().toString('hex')}`);
    const malleated = Buffer.concat([sig.subarray(0, 32), le(s + ED25519_L)]);
    assert.equal(isCanonicalScalar(malleated), false);
    assert.equal(signatureEncodingProblem(malleated), 's_not_canonical');
    assert.equal(verifyStrict(publicKey, msg, malleated), 'noncanonical');
  });

  test('S = L - 1 is canonical, S = L is not', () => {
    assert.equal(isCanonicalScalar(Buffer.concat([Buffer.alloc(32), le(ED25519_L - 1n)])), true);
    assert.equal(isCanonicalScalar(Buffer.concat([Buffer.alloc(32), le(ED25519_L)])), false);
  });

  test('R encodings: y >= p and (x = 0 with the sign bit) are not canonical', () => {
    assert.equal(isCanonicalPointEncoding(le(ED25519_P - 1n)), true);
    assert.equal(isCanonicalPointEncoding(le(ED25519_P)), false);
    assert.equal(isCanonicalPointEncoding(le((1n << 255n) - 1n)), false); // y = 2^255 - 1 with the sign bit
    const one = le(1n);
    one[31] = 0x80; // y = 1, x = 0, sign bit set
    assert.equal(isCanonicalPointEncoding(one), false);
    const minusOne = le(ED25519_P - 1n);
    minusOne[31] = (minusOne[31] ?? 0) | 0x80;
    assert.equal(isCanonicalPointEncoding(minusOne), false);
  });

  test('a small-order R is refused', () => {
    for (const hex of SMALL_ORDER_ENCODINGS) {
      const forged = Buffer.concat([Buffer.from(hex, 'hex'), sig.subarray(32)]);
      assert.equal(signatureEncodingProblem(forged), 'r_small_order', hex);
    }
  });

  test('wrong lengths are invalid, never an exception', () => {
    for (const n of [0, 63, 65, 128]) assert.equal(verifyStrict(publicKey, msg, Buffer.alloc(n)), 'invalid');
  });

  test('the all-zero signature ("psychic signature") is refused', () => {
    assert.notEqual(verifyStrict(publicKey, msg, Buffer.alloc(64)), 'ok');
  });
});

describe('public keys at registration', () => {
  test('SMALL_ORDER_ENCODINGS are exactly the 8 points of E[8], derived independently with noble', () => {
    const P = ed25519.Point;
    const torsion = new Set<string>();
    for (let i = 0; torsion.size < 8 && i < 64; i++) {
      let point;
      try {
        point = P.fromBytes(Buffer.from(ed25519.utils.randomSecretKey()), false);
      } catch {
        continue;
      }
      const t = point.multiply(ED25519_L - 1n).add(point); // [L]P: only the torsion component is left
      let q = P.ZERO;
      for (let k = 0; k < 8; k++) { torsion.add(Buffer.from(q.toBytes()).toString('hex')); q = q.add(t); }
    }
    assert.deepEqual([...torsion].sort(), [...SMALL_ORDER_ENCODINGS].sort());
  });

  test('honest keys pass; small-order, mixed-order, off-curve and non-canonical keys are refused', () => {
    const honest = rawPublicKey(generateKeyPairSync('ed25519').publicKey);
    assert.equal(publicKeyProblem(honest), null);
    for (const hex of SMALL_ORDER_ENCODINGS) assert.equal(publicKeyProblem(Buffer.from(hex, 'hex')), 'small_order');
    const t8 = ed25519.Point.fromBytes(Buffer.from('c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a', 'hex'));
    const mixed = ed25519.Point.fromBytes(honest).add(t8).toBytes();
    assert.equal(publicKeyProblem(mixed), 'not_prime_order');
    assert.equal(publicKeyProblem(le(2n)), 'not_on_curve'); // y = 2 is not on the curve (noble agrees below)
    assert.throws(() => ed25519.Point.fromBytes(le(2n), false));
    assert.equal(publicKeyProblem(le(ED25519_P + 1n)), 'not_canonical');
    assert.equal(publicKeyProblem(Buffer.alloc(31)), 'length');
  });

  test('property: registration agrees with noble\'s decoding and order checks on random encodings', () => {
    fc.assert(fc.property(fc.uint8Array({ minLength: 32, maxLength: 32 }), (bytes) => {
      let noble: string | null;
      try {
        const p = ed25519.Point.fromBytes(bytes, false);
        noble = p.isSmallOrder() ? 'small_order' : p.isTorsionFree() ? null : 'not_prime_order';
      } catch {
        noble = 'undecodable';
      }
      const ours = publicKeyProblem(bytes);
      const normalised = ours === 'not_canonical' || ours === 'not_on_curve' ? 'undecodable' : ours;
      assert.equal(normalised, noble);
    }), { numRuns: 300 });
  });

  test('SPKI parsing accepts exactly the Ed25519 prefix', () => {
    const { publicKey } = generateKeyPairSync('ed25519');
    const der = publicKey.export({ format: 'der', type: 'spki' });
    assert.deepEqual(parseEd25519Spki(der), rawPublicKey(publicKey));
    assert.equal(parseEd25519Spki(der.subarray(1)), null);
    const p256 = generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey.export({ format: 'der', type: 'spki' });
    assert.equal(parseEd25519Spki(p256), null);
  });
});

describe('differential: ours vs @noble/curves (zip215: false) on generated signatures', () => {
  const keys = Array.from({ length: 4 }, () => generateKeyPairSync('ed25519'));

  test('valid signatures, bit flips anywhere, S + L, small-order R, random bytes', () => {
    fc.assert(fc.property(
      fc.integer({ min: 0, max: keys.length - 1 }),
      fc.uint8Array({ maxLength: 300 }),
      fc.oneof(
        fc.constant({ kind: 'none' as const }),
        fc.record({ kind: fc.constant('flip' as const), bit: fc.integer({ min: 0, max: 511 }) }),
        fc.constant({ kind: 's_plus_l' as const }),
        fc.record({ kind: fc.constant('small_r' as const), i: fc.integer({ min: 0, max: 7 }) }),
        fc.record({ kind: fc.constant('random' as const), bytes: fc.uint8Array({ minLength: 64, maxLength: 64 }) }),
        fc.record({ kind: fc.constant('flip_msg' as const), bit: fc.nat() }),
      ),
      (k, message, mutation) => {
        const pair = keys[k];
        if (pair === undefined) throw new Error('no key');
        const pub = rawPublicKey(pair.publicKey);
        let msg = Buffer.from(message);
        let sig = cryptoSign(null, msg, pair.privateKey);
        switch (mutation.kind) {
          case 'none': break;
          case 'flip': sig[mutation.bit >> 3] = (sig[mutation.bit >> 3] ?? 0) ^ (1 << (mutation.bit & 7)); break;
          case 's_plus_l': {
            const s = BigInt(`0x${Buffer.from(sig.subarray(32)).reverse().toString('hex')}`);
            sig = Buffer.concat([sig.subarray(0, 32), le(s + ED25519_L)]);
            break;
          }
          case 'small_r': sig = Buffer.concat([Buffer.from([...SMALL_ORDER_ENCODINGS][mutation.i] ?? '', 'hex'), sig.subarray(32)]); break;
          case 'random': sig = Buffer.from(mutation.bytes); break;
          case 'flip_msg':
            if (msg.length > 0) { msg = Buffer.from(msg); const bit = mutation.bit % (msg.length * 8); msg[bit >> 3] = (msg[bit >> 3] ?? 0) ^ (1 << (bit & 7)); }
            break;
        }
        const ours = oursStrict(sig, msg, pub);
        assert.equal(ours, nobleStrict(sig, msg, pub));
        if (mutation.kind === 'none') assert.equal(ours, true);
      },
    ), { numRuns: 1000 });
  });
});
