// Strict Ed25519 for approvals (docs/approval-format.md §5). The hot path is node:crypto (OpenSSL,
// cofactorless equation, S < L checked); the explicit checks below do not rely on library defaults:
//   signature exactly 64 bytes; S < L; R a canonical encoding and not a small-order point;
//   public key a canonical encoding of a prime-order point (checked once, when a key is registered).
// Key registration decodes the point and checks its order with the small BigInt arithmetic below
// (run once per key; tests check it against @noble/curves, which production code does not import).
import { createPublicKey, verify as cryptoVerify, type KeyObject } from 'node:crypto';

/** Order of the prime-order subgroup: L = 2^252 + 27742317777372353535851937790883648493. */
export const ED25519_L = (1n << 252n) + 27742317777372353535851937790883648493n;
/** Field prime p = 2^255 - 19. */
export const ED25519_P = (1n << 255n) - 19n;

export const SIGNATURE_BYTES = 64;
export const PUBLIC_KEY_BYTES = 32;

/** DER prefix of an Ed25519 SubjectPublicKeyInfo (RFC 8410): SEQUENCE { SEQUENCE { OID 1.3.101.112 }, BIT STRING }. */
export const ED25519_SPKI_PREFIX = Buffer.from('302a300506032b6570032100', 'hex');
/** DER prefix of an Ed25519 PKCS#8 private key (RFC 8410) before the 32-byte seed. */
export const ED25519_PKCS8_PREFIX = Buffer.from('302e020100300506032b657004220420', 'hex');

/**
 * The canonical encodings of the eight points of small order (the torsion subgroup E[8]).
 * A test derives them independently with @noble/curves.
 */
export const SMALL_ORDER_ENCODINGS: ReadonlySet<string> = new Set([
  '0100000000000000000000000000000000000000000000000000000000000000', // identity (order 1)
  'ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f', // (0, -1) (order 2)
  '0000000000000000000000000000000000000000000000000000000000000000', // order 4
  '0000000000000000000000000000000000000000000000000000000000000080', // order 4
  'c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a', // order 8
  'c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac03fa', // order 8
  '26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc05', // order 8
  '26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc85', // order 8
]);

function littleEndian(bytes: Uint8Array, start: number, end: number, maskTopBit: boolean): bigint {
  let n = 0n;
  for (let i = end - 1; i >= start; i--) {
    let b = bytes[i] ?? 0;
    if (maskTopBit && i === end - 1) b &= 0x7f;
    n = (n << 8n) | BigInt(b);
  }
  return n;
}

function toLittleEndian(n: bigint): Buffer {
  const out = Buffer.alloc(32);
  let v = n;
  for (let i = 0; i < 32; i++) { out[i] = Number(v & 0xffn); v >>= 8n; }
  return out;
}

const L_LE = toLittleEndian(ED25519_L);
const P_LE = toLittleEndian(ED25519_P);
const P_MINUS_1_LE = toLittleEndian(ED25519_P - 1n);

/**
 * Compares the 32-byte little-endian integer at bytes[offset..offset+32) (top bit cleared when
 * `maskTopBit`) with `limit`: negative, zero or positive. Byte comparisons, no BigInt: this runs on
 * every verification.
 */
function compareLE(bytes: Uint8Array, offset: number, limit: Uint8Array, maskTopBit: boolean): number {
  for (let i = 31; i >= 0; i--) {
    let b = bytes[offset + i] ?? 0;
    if (maskTopBit && i === 31) b &= 0x7f;
    const l = limit[i] ?? 0;
    if (b !== l) return b - l;
  }
  return 0;
}

/** S (the second half of a signature, little-endian) is below the group order L. */
export function isCanonicalScalar(sig: Uint8Array): boolean {
  return sig.length === SIGNATURE_BYTES && compareLE(sig, 32, L_LE, false) < 0;
}

/** y (the low 255 bits) is 1: only byte 0 is 1, all others (top bit ignored) are 0. */
function yIsOne(point: Uint8Array): boolean {
  if (point[0] !== 1) return false;
  for (let i = 1; i < 31; i++) if (point[i] !== 0) return false;
  return ((point[31] ?? 0) & 0x7f) === 0;
}

/**
 * A 32-byte point encoding is canonical: y < p, and the sign bit is clear when x = 0
 * (x = 0 exactly for y = 1 and y = p - 1). Says nothing about whether y is on the curve.
 */
export function isCanonicalPointEncoding(point: Uint8Array): boolean {
  if (point.length !== PUBLIC_KEY_BYTES) return false;
  if (compareLE(point, 0, P_LE, true) >= 0) return false;
  const signBit = ((point[31] ?? 0) & 0x80) !== 0;
  return !(signBit && (yIsOne(point) || compareLE(point, 0, P_MINUS_1_LE, true) === 0));
}

const SMALL_ORDER_BUFFERS = [...SMALL_ORDER_ENCODINGS].map((hex) => Buffer.from(hex, 'hex'));
const SMALL_ORDER_FIRST_BYTES = new Set(SMALL_ORDER_BUFFERS.map((b) => b[0]));

export function isSmallOrderEncoding(point: Uint8Array): boolean {
  if (point.length !== PUBLIC_KEY_BYTES || !SMALL_ORDER_FIRST_BYTES.has(point[0])) return false;
  return SMALL_ORDER_BUFFERS.some((b) => b.equals(point));
}

export type SignatureEncodingProblem = 'length' | 's_not_canonical' | 'r_not_canonical' | 'r_small_order';

/** The encoding checks a signature must pass before any curve arithmetic. */
export function signatureEncodingProblem(sig: Uint8Array): SignatureEncodingProblem | null {
  if (sig.length !== SIGNATURE_BYTES) return 'length';
  if (!isCanonicalScalar(sig)) return 's_not_canonical';
  const r = sig.subarray(0, 32);
  if (!isCanonicalPointEncoding(r)) return 'r_not_canonical';
  if (isSmallOrderEncoding(r)) return 'r_small_order';
  return null;
}

export type PublicKeyProblem = 'length' | 'not_canonical' | 'not_on_curve' | 'small_order' | 'not_prime_order';

// --- Minimal edwards25519 arithmetic for registration-time checks (RFC 8032 §5.1.3, §5.1.4) ----
const P = ED25519_P;
const D = mod(-121665n * modPow(121666n, P - 2n));
const SQRT_M1 = modPow(2n, (P - 1n) / 4n);

function mod(a: bigint): bigint {
  const r = a % P;
  return r < 0n ? r + P : r;
}

function modPow(base: bigint, exp: bigint): bigint {
  let result = 1n;
  let b = mod(base);
  let e = exp;
  while (e > 0n) {
    if (e & 1n) result = (result * b) % P;
    b = (b * b) % P;
    e >>= 1n;
  }
  return result;
}

/** Extended coordinates (X:Y:Z:T) with x = X/Z, y = Y/Z, xy = T/Z. */
type ExtendedPoint = readonly [bigint, bigint, bigint, bigint];

/** RFC 8032 §5.1.3 decoding of a canonical encoding; null when y has no x on the curve. */
function decodePoint(encoded: Uint8Array): ExtendedPoint | null {
  const y = littleEndian(encoded, 0, 32, true);
  const sign = ((encoded[31] ?? 0) & 0x80) !== 0 ? 1n : 0n;
  const u = mod(y * y - 1n);
  const v = mod(D * y * y + 1n);
  const v3 = mod(v * v * v);
  let x = mod(u * v3 * modPow(u * v3 * v3 * v, (P - 5n) / 8n));
  const vx2 = mod(v * x * x);
  if (vx2 === u) {
    // x is a square root
  } else if (vx2 === mod(-u)) {
    x = mod(x * SQRT_M1);
  } else {
    return null;
  }
  if (x === 0n && sign === 1n) return null;
  if ((x & 1n) !== sign) x = P - x;
  return [x, y, 1n, mod(x * y)];
}

/** Unified addition for a = -1 (add-2008-hwcd-3); complete on edwards25519, so it also doubles. */
function add(p1: ExtendedPoint, p2: ExtendedPoint): ExtendedPoint {
  const [x1, y1, z1, t1] = p1;
  const [x2, y2, z2, t2] = p2;
  const a = mod((y1 - x1) * (y2 - x2));
  const b = mod((y1 + x1) * (y2 + x2));
  const c = mod(t1 * 2n * D * t2);
  const d = mod(z1 * 2n * z2);
  const e = b - a;
  const f = d - c;
  const g = d + c;
  const h = b + a;
  return [mod(e * f), mod(g * h), mod(f * g), mod(e * h)];
}

function multiply(point: ExtendedPoint, scalar: bigint): ExtendedPoint {
  let result: ExtendedPoint = [0n, 1n, 1n, 0n];
  let addend = point;
  for (let k = scalar; k > 0n; k >>= 1n) {
    if (k & 1n) result = add(result, addend);
    addend = add(addend, addend);
  }
  return result;
}

function isIdentity(point: ExtendedPoint): boolean {
  return point[0] === 0n && point[1] === point[2];
}

/**
 * Registration-time check of a raw public key: 32 bytes, canonical encoding, a point on the curve,
 * not of small order, and in the prime-order subgroup ([L]A = identity; honest keys always are).
 * Rejecting mixed-order keys here makes node:crypto's cofactorless equation and the cofactored one
 * give the same answer for every signature under a registered key.
 */
export function publicKeyProblem(raw: Uint8Array): PublicKeyProblem | null {
  if (raw.length !== PUBLIC_KEY_BYTES) return 'length';
  if (!isCanonicalPointEncoding(raw)) return 'not_canonical';
  const point = decodePoint(raw);
  if (point === null) return 'not_on_curve';
  if (isSmallOrderEncoding(raw) || isIdentity(multiply(point, 8n))) return 'small_order';
  if (!isIdentity(multiply(point, ED25519_L))) return 'not_prime_order';
  return null;
}

/** A KeyObject for a raw 32-byte Ed25519 public key (build once per key, not per verify). */
export function publicKeyObject(raw: Uint8Array): KeyObject {
  if (raw.length !== PUBLIC_KEY_BYTES) throw new RangeError(`an Ed25519 public key is 32 bytes, got ${raw.length}`);
  return createPublicKey({ key: Buffer.concat([ED25519_SPKI_PREFIX, raw]), format: 'der', type: 'spki' });
}

/** The raw 32 bytes of an Ed25519 public (or private) KeyObject. */
export function rawPublicKey(key: KeyObject): Buffer {
  if (key.asymmetricKeyType !== 'ed25519') throw new TypeError(`expected an ed25519 key, got ${key.asymmetricKeyType ?? key.type}`);
  const publicKey = key.type === 'private' ? createPublicKey(key) : key;
  const der = publicKey.export({ format: 'der', type: 'spki' });
  return parseEd25519Spki(der) ?? (() => { throw new TypeError('unexpected SPKI encoding of an ed25519 key'); })();
}

/** The raw key of a DER SPKI (as KMS GetPublicKey returns it), or null when it is not exactly an Ed25519 SPKI. */
export function parseEd25519Spki(der: Uint8Array): Buffer | null {
  if (der.length !== ED25519_SPKI_PREFIX.length + PUBLIC_KEY_BYTES) return null;
  if (!Buffer.from(der.subarray(0, ED25519_SPKI_PREFIX.length)).equals(ED25519_SPKI_PREFIX)) return null;
  return Buffer.from(der.subarray(ED25519_SPKI_PREFIX.length));
}

export type StrictVerifyResult = 'ok' | 'invalid' | 'noncanonical';

/**
 * Strict verification against a registered key (its public key already passed publicKeyProblem).
 * 'noncanonical': the signature encoding is refused before any arithmetic; 'invalid': wrong length
 * or the equation fails.
 */
export function verifyStrict(key: KeyObject, message: Uint8Array, sig: Uint8Array): StrictVerifyResult {
  const problem = signatureEncodingProblem(sig);
  if (problem === 'length') return 'invalid';
  if (problem !== null) return 'noncanonical';
  return cryptoVerify(null, message, key, sig) ? 'ok' : 'invalid';
}
