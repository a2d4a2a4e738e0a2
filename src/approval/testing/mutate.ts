// Mutation generator for approval verification (test tooling; docs/approval-format.md §9).
// From a scenario (keys, registry, clock) it produces a reproducible stream of approvals, each either a
// valid control or a mutation of a valid approval, each knowing the verdict the verifier must reach:
// random bit flips of payload and signature, field edits with and without re-signing, re-signing with
// unknown/revoked/retired keys, expired/not-yet-valid/over-long lifetimes, wrong audience, action or id
// swaps, non-canonical or duplicate-member payloads, non-canonical signatures, and replays.
// The unit tests feed these to verifyApproval; a Kafka-level test feeds the same events to the real
// executor. Expected codes are computed here from the format's rules, not by calling the verifier.
import { actionDigest } from '../../canonical/digest.ts';
import type { Action, Envelope, EpochMillis, SignedApprovalEvent, SigningKeyRecord } from '../../domain/types.ts';
import { authorizeSigning } from '../authorize.ts';
import { approvalIdFor, draftApproval } from '../draft.ts';
import { preAuthEncoding } from '../dsse.ts';
import { ED25519_L, ED25519_P, SMALL_ORDER_ENCODINGS } from '../ed25519.ts';
import { type KeyRegistry, createKeyRegistry } from '../keys/registry.ts';
import { newKeyRecord } from '../keys/rotation.ts';
import { APPROVAL_PAYLOAD_TYPE, type ApprovalPayload, encodeApprovalPayload } from '../payload.ts';
import type { LocalEd25519Signer } from '../signers/local.ts';
import { type CheckName, DEFAULT_CLOCK_SKEW_MS, DEFAULT_MAX_TTL_MS, type VerificationCode, type VerifyInput } from '../verify/types.ts';
import {
  ACTIONS, approverPrincipal, humanDecision, sampleDecision, sampleResponse, testSigner,
} from './fixtures.ts';

// ------------------------------------------------------------------------------------------------
// Deterministic randomness.

export type Rng = () => number;

/** mulberry32: a small, fast, seedable PRNG (uniform in [0, 1)). Not for cryptography. */
export function createRng(seed: number): Rng {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function int(rng: Rng, n: number): number {
  return Math.floor(rng() * n);
}

function pick<T>(rng: Rng, items: readonly T[]): T {
  const item = items[int(rng, items.length)];
  if (item === undefined) throw new RangeError('pick from an empty list');
  return item;
}

// ------------------------------------------------------------------------------------------------
// Scenario: keys, registry, verifier settings.

export interface MutationKeys {
  /** Registered, active: signs every valid approval. */
  trusted: LocalEd25519Signer;
  /** Registered, active: a second trusted key (key-id swaps). */
  otherTrusted: LocalEd25519Signer;
  /** Registered, revoked. */
  revoked: LocalEd25519Signer;
  /** Registered, retired: its window ended an hour before `now`. */
  retired: LocalEd25519Signer;
  /** Not registered. */
  unknown: LocalEd25519Signer;
}

export interface MutationScenario {
  now: EpochMillis;
  audience: string;
  issuer: string;
  clockSkewMs: number;
  maxTtlMs: number;
  ttlMs: number;
  keys: MutationKeys;
  /** The records to register (or publish on the key topic) before verifying. */
  keyRecords: SigningKeyRecord[];
  registry: KeyRegistry;
}

export interface ScenarioOptions {
  now: EpochMillis;
  audience?: string;
  issuer?: string;
  clockSkewMs?: number;
  maxTtlMs?: number;
  ttlMs?: number;
  keys?: Partial<MutationKeys>;
}

const HOUR = 3_600_000;
const DAY = 24 * HOUR;

export function createMutationScenario(options: ScenarioOptions): MutationScenario {
  const now = options.now;
  const keys: MutationKeys = {
    trusted: options.keys?.trusted ?? testSigner('mutation trusted'),
    otherTrusted: options.keys?.otherTrusted ?? testSigner('mutation other trusted'),
    revoked: options.keys?.revoked ?? testSigner('mutation revoked'),
    retired: options.keys?.retired ?? testSigner('mutation retired'),
    unknown: options.keys?.unknown ?? testSigner('mutation unknown'),
  };
  const keyRecords: SigningKeyRecord[] = [
    newKeyRecord({ publicKey: keys.trusted.publicKey, origin: 'local', now: now - DAY, notAfter: now + DAY }),
    newKeyRecord({ publicKey: keys.otherTrusted.publicKey, origin: 'local', now: now - DAY, notAfter: now + DAY }),
    { ...newKeyRecord({ publicKey: keys.revoked.publicKey, origin: 'local', now: now - DAY, notAfter: now + DAY }), status: 'revoked', revokedAt: now - HOUR },
    { ...newKeyRecord({ publicKey: keys.retired.publicKey, origin: 'local', now: now - 2 * DAY, notAfter: now - HOUR }), status: 'retired' },
  ];
  return {
    now,
    audience: options.audience ?? 'aureus-executor',
    issuer: options.issuer ?? 'aureus-bridge',
    clockSkewMs: options.clockSkewMs ?? DEFAULT_CLOCK_SKEW_MS,
    maxTtlMs: options.maxTtlMs ?? DEFAULT_MAX_TTL_MS,
    ttlMs: options.ttlMs ?? 5 * 60_000,
    keys,
    keyRecords,
    registry: createKeyRegistry(keyRecords),
  };
}

// ------------------------------------------------------------------------------------------------
// Valid base approvals.

export interface MutationBase {
  payload: ApprovalPayload;
  event: SignedApprovalEvent;
}

function signWith(signer: LocalEd25519Signer, payloadType: string, payload: Buffer): Envelope {
  return { payloadType, payload, signatures: [{ keyid: signer.keyId, sig: signer.signSync(preAuthEncoding(payloadType, payload)) }] };
}

function randomAction(rng: Rng, i: number): Action {
  switch (int(rng, 4)) {
    case 0: return { ...ACTIONS.transfer, amountMinor: 100 + int(rng, 1_000_000), memo: rng() < 0.5 ? null : `memo ${i}` };
    case 1: return { ...ACTIONS.message, recipient: `user${int(rng, 1000)}@example.com`, body: `message ${i} \u20ac\u00f6` };
    case 2: return { ...ACTIONS.command, command: pick(rng, ['df -h', 'uptime', 'ls -la /tmp', 'whoami']) };
    default: return { ...ACTIONS.tool, argumentsJson: `{"n":${i}}` };
  }
}

/** A fresh valid approval (unique ids per `label`), signed by the trusted key, valid at scenario.now. */
export function createBase(scenario: MutationScenario, rng: Rng, label: string): MutationBase {
  const action = randomAction(rng, int(rng, 1_000_000));
  const ids = { decisionId: `dec-${label}`, intentId: `int-${label}` };
  const human = rng() < 0.4;
  const decision = human
    ? humanDecision({ ...ids, action, actionDigest: actionDigest(action), deadline: scenario.now + HOUR })
    : sampleDecision({ ...ids, action, actionDigest: actionDigest(action) });
  const responses = human ? [sampleResponse(decision, approverPrincipal('u-alice'), 'approve', scenario.now - 60_000)] : [];
  const auth = authorizeSigning(decision, responses, { now: scenario.now });
  if (!auth.ok) throw new Error(`fixture decision not signable: ${auth.code}`);
  const issuedAt = scenario.now - int(rng, 60_000);
  const payload = draftApproval(decision, auth.approvers, {
    now: issuedAt,
    approvalId: approvalIdFor(decision.decisionId),
    nonce: Buffer.from(Array.from({ length: 16 }, () => int(rng, 256))).toString('base64url'),
    ttlMs: scenario.ttlMs,
    audience: scenario.audience,
    issuer: scenario.issuer,
  });
  const envelope = signWith(scenario.keys.trusted, APPROVAL_PAYLOAD_TYPE, encodeApprovalPayload(payload));
  return {
    payload,
    event: {
      approvalId: payload.approvalId, intentId: decision.intentId, decisionId: decision.decisionId,
      conversation: decision.conversation, action, envelope,
    },
  };
}

// ------------------------------------------------------------------------------------------------
// Mutations.

export const MUTATION_KINDS = [
  'valid_control', 'payload_bit_flip', 'signature_bit_flip', 'signature_s_plus_l', 'signature_length',
  'signature_count', 'payload_type_edit', 'keyid_unknown', 'keyid_other_trusted', 'field_edit_unsigned',
  'resigned_unknown_key', 'resigned_revoked_key', 'resigned_retired_key', 'expired', 'not_yet_valid',
  'ttl_too_long', 'wrong_audience', 'digest_mismatch', 'action_swapped', 'intent_mismatch',
  'event_ids_mismatch', 'noncanonical_payload', 'duplicate_member', 'schema_violation', 'replay',
] as const;
export type MutationKind = (typeof MUTATION_KINDS)[number];

export type ExpectedVerdict = { ok: true } | { ok: false; code: VerificationCode; check: CheckName };

export interface Mutation {
  kind: MutationKind;
  description: string;
  /** The valid approval this one was derived from. */
  base: MutationBase;
  /** What to deliver to the verifier / executor. */
  event: SignedApprovalEvent;
  expected: ExpectedVerdict;
  /** The base approval must have been executed once before this one is delivered (replay). */
  requiresPriorUse: boolean;
}

function expectFail(code: VerificationCode, check: CheckName): ExpectedVerdict {
  return { ok: false, code, check };
}

function leInt(bytes: Uint8Array): bigint {
  let n = 0n;
  for (let i = bytes.length - 1; i >= 0; i--) n = (n << 8n) | BigInt(bytes[i] ?? 0);
  return n;
}

function leBytes(n: bigint, length: number): Buffer {
  const out = Buffer.alloc(length);
  let v = n;
  for (let i = 0; i < length; i++) { out[i] = Number(v & 0xffn); v >>= 8n; }
  return out;
}

/** The verdict the format prescribes for a signature that is not the signer's: by its encoding. */
function expectedForForeignSignature(sig: Buffer): ExpectedVerdict {
  if (sig.length !== 64) return expectFail('SNT_APPROVAL_SIGNATURE_INVALID', 'signature');
  if (leInt(sig.subarray(32)) >= ED25519_L) return expectFail('SNT_APPROVAL_SIGNATURE_NONCANONICAL', 'signature');
  const r = sig.subarray(0, 32);
  const y = leInt(Buffer.concat([r.subarray(0, 31), Buffer.from([(r[31] ?? 0) & 0x7f])]));
  const sign = ((r[31] ?? 0) & 0x80) !== 0;
  if (y >= ED25519_P || (sign && (y === 1n || y === ED25519_P - 1n)) || SMALL_ORDER_ENCODINGS.has(r.toString('hex'))) {
    return expectFail('SNT_APPROVAL_SIGNATURE_NONCANONICAL', 'signature');
  }
  return expectFail('SNT_APPROVAL_SIGNATURE_INVALID', 'signature');
}

function flipBit(bytes: Buffer, rng: Rng): Buffer {
  const out = Buffer.from(bytes);
  const bit = int(rng, out.length * 8);
  out[bit >> 3] = (out[bit >> 3] ?? 0) ^ (1 << (bit & 7));
  return out;
}

type Json = Record<string, unknown>;

/** A plausible edit of one payload member (still well-typed), for forgeries. */
function editField(payload: ApprovalPayload, rng: Rng): Json {
  const copy = JSON.parse(JSON.stringify(payload)) as Json;
  const key = pick(rng, Object.keys(copy));
  const value = copy[key];
  if (typeof value === 'string') copy[key] = value.startsWith('sha256:') ? `sha256:${'0'.repeat(64)}` : `${value}x`;
  else if (typeof value === 'number') copy[key] = value + 1 + int(rng, 1000);
  else if (Array.isArray(value)) copy[key] = value.length > 0 ? value.slice(1) : ['R-FORGED'];
  else if (typeof value === 'object' && value !== null) copy[key] = { ...(value as Json), userId: 'u-mallory' };
  return copy;
}

function canonical(value: Json): Buffer {
  return encodeApprovalPayload(value as unknown as ApprovalPayload);
}

function withEnvelope(base: MutationBase, envelope: Envelope, changes: Partial<SignedApprovalEvent> = {}): SignedApprovalEvent {
  return { ...base.event, ...changes, envelope };
}

function mutate(kind: MutationKind, base: MutationBase, s: MutationScenario, rng: Rng): Omit<Mutation, 'kind' | 'base'> {
  const env = base.event.envelope;
  const sig = env.signatures[0]?.sig ?? Buffer.alloc(0);
  const keyid = s.keys.trusted.keyId;
  const resign = (payload: Json | Buffer, signer: LocalEd25519Signer = s.keys.trusted): Envelope =>
    signWith(signer, APPROVAL_PAYLOAD_TYPE, Buffer.isBuffer(payload) ? payload : canonical(payload));
  const p = base.payload;
  const none = { requiresPriorUse: false };
  switch (kind) {
    case 'valid_control':
      return { ...none, description: 'unchanged valid approval', event: base.event, expected: { ok: true } };
    case 'payload_bit_flip':
      return { ...none, description: 'one payload bit flipped', event: withEnvelope(base, { ...env, payload: flipBit(env.payload, rng) }), expected: expectFail('SNT_APPROVAL_SIGNATURE_INVALID', 'signature') };
    case 'signature_bit_flip': {
      const flipped = flipBit(sig, rng);
      return { ...none, description: 'one signature bit flipped', event: withEnvelope(base, { ...env, signatures: [{ keyid, sig: flipped }] }), expected: expectedForForeignSignature(flipped) };
    }
    case 'signature_s_plus_l': {
      const s2 = leInt(sig.subarray(32)) + ED25519_L;
      const malleated = Buffer.concat([sig.subarray(0, 32), leBytes(s2, 32)]);
      return { ...none, description: 'S replaced by S + L (malleability)', event: withEnvelope(base, { ...env, signatures: [{ keyid, sig: malleated }] }), expected: expectFail('SNT_APPROVAL_SIGNATURE_NONCANONICAL', 'signature') };
    }
    case 'signature_length': {
      const cut = rng() < 0.5 ? sig.subarray(0, int(rng, 64)) : Buffer.concat([sig, Buffer.alloc(1 + int(rng, 8))]);
      return { ...none, description: `signature of ${cut.length} bytes`, event: withEnvelope(base, { ...env, signatures: [{ keyid, sig: cut }] }), expected: expectFail('SNT_APPROVAL_SIGNATURE_INVALID', 'signature') };
    }
    case 'signature_count': {
      const signatures = rng() < 0.5 ? [] : [...env.signatures, { keyid: s.keys.otherTrusted.keyId, sig: Buffer.from(sig) }];
      return { ...none, description: `${signatures.length} signatures`, event: withEnvelope(base, { ...env, signatures }), expected: expectFail('SNT_APPROVAL_MALFORMED', 'envelope') };
    }
    case 'payload_type_edit': {
      const payloadType = pick(rng, [
        'application/vnd.aureus.approval+json; version=2', 'application/vnd.aureus.approval+json;version=1',
        'APPLICATION/VND.AUREUS.APPROVAL+JSON; VERSION=1', 'application/json', 'application/vnd.aureus.key-delegation+json; version=1', '',
      ]);
      return { ...none, description: `payloadType "${payloadType}"`, event: withEnvelope(base, { ...env, payloadType }), expected: expectFail('SNT_APPROVAL_PAYLOAD_TYPE', 'payload_type') };
    }
    case 'keyid_unknown': {
      const fake = Buffer.from(Array.from({ length: 32 }, () => int(rng, 256))).toString('base64url');
      return { ...none, description: 'key id of no registered key', event: withEnvelope(base, { ...env, signatures: [{ keyid: fake, sig }] }), expected: expectFail('SNT_APPROVAL_KEY_UNKNOWN', 'key') };
    }
    case 'keyid_other_trusted':
      return { ...none, description: 'key id of another trusted key', event: withEnvelope(base, { ...env, signatures: [{ keyid: s.keys.otherTrusted.keyId, sig }] }), expected: expectFail('SNT_APPROVAL_SIGNATURE_INVALID', 'signature') };
    case 'field_edit_unsigned': {
      const edited = canonical(editField(p, rng));
      return { ...none, description: 'a payload member edited, signature kept', event: withEnvelope(base, { ...env, payload: edited }), expected: expectFail('SNT_APPROVAL_SIGNATURE_INVALID', 'signature') };
    }
    case 'resigned_unknown_key':
      return { ...none, description: 'payload edited and re-signed with an unregistered key', event: withEnvelope(base, resign(editField(p, rng), s.keys.unknown)), expected: expectFail('SNT_APPROVAL_KEY_UNKNOWN', 'key') };
    case 'resigned_revoked_key':
      return { ...none, description: 're-signed with a revoked key', event: withEnvelope(base, resign(rng() < 0.5 ? { ...p } : editField(p, rng), s.keys.revoked)), expected: expectFail('SNT_APPROVAL_KEY_REVOKED', 'key') };
    case 'resigned_retired_key':
      return { ...none, description: 're-signed with a key retired before issuedAt', event: withEnvelope(base, resign({ ...p }, s.keys.retired)), expected: expectFail('SNT_APPROVAL_KEY_NOT_VALID', 'key_validity') };
    case 'expired': {
      const expiresAt = s.now - s.clockSkewMs - int(rng, 10 * 60_000);
      const notBefore = expiresAt - s.ttlMs;
      return { ...none, description: `expired ${s.now - expiresAt} ms ago`, event: withEnvelope(base, resign({ ...p, issuedAt: notBefore, notBefore, expiresAt })), expected: expectFail('SNT_APPROVAL_EXPIRED', 'time') };
    }
    case 'not_yet_valid': {
      const notBefore = s.now + s.clockSkewMs + 1 + int(rng, 10 * 60_000);
      return { ...none, description: `valid from ${notBefore - s.now} ms ahead`, event: withEnvelope(base, resign({ ...p, issuedAt: notBefore, notBefore, expiresAt: notBefore + s.ttlMs })), expected: expectFail('SNT_APPROVAL_NOT_YET_VALID', 'time') };
    }
    case 'ttl_too_long':
      return { ...none, description: 'lifetime longer than the maximum', event: withEnvelope(base, resign({ ...p, expiresAt: p.notBefore + s.maxTtlMs + 1 + int(rng, DAY) })), expected: expectFail('SNT_APPROVAL_TTL_TOO_LONG', 'time') };
    case 'wrong_audience':
      return { ...none, description: 'addressed to another audience', event: withEnvelope(base, resign({ ...p, audience: pick(rng, ['aureus-executor-staging', 'other-service', `${s.audience} `]) })), expected: expectFail('SNT_APPROVAL_AUDIENCE', 'audience') };
    case 'digest_mismatch': {
      const other = actionDigest({ ...ACTIONS.transfer, amountMinor: 999_999_999 });
      return { ...none, description: 'signed for another action digest', event: withEnvelope(base, resign({ ...p, actionDigest: other })), expected: expectFail('SNT_APPROVAL_DIGEST_MISMATCH', 'binding') };
    }
    case 'action_swapped': {
      const action: Action = { ...ACTIONS.transfer, amountMinor: 100_000_000 + int(rng, 1_000_000), payee: 'mallory@example.com' };
      return { ...none, description: 'the event carries another action than the approved one', event: withEnvelope(base, env, { action }), expected: expectFail('SNT_APPROVAL_DIGEST_MISMATCH', 'binding') };
    }
    case 'intent_mismatch':
      return { ...none, description: 'signed for another intent id', event: withEnvelope(base, resign({ ...p, intentId: `${p.intentId}-other` })), expected: expectFail('SNT_APPROVAL_BINDING_MISMATCH', 'binding') };
    case 'event_ids_mismatch': {
      const which = int(rng, 3);
      const changes: Partial<SignedApprovalEvent> = which === 0 ? { intentId: `${base.event.intentId}-x` }
        : which === 1 ? { decisionId: `${base.event.decisionId}-x` } : { approvalId: `${base.event.approvalId}-x` };
      return { ...none, description: `event ${Object.keys(changes)[0]} differs from the signed one`, event: withEnvelope(base, env, changes), expected: expectFail('SNT_APPROVAL_BINDING_MISMATCH', 'binding') };
    }
    case 'noncanonical_payload': {
      const text = rng() < 0.5 ? JSON.stringify(p) : `${canonical({ ...p }).toString('utf8')}\n`;
      return { ...none, description: 'payload re-serialised non-canonically and re-signed', event: withEnvelope(base, resign(Buffer.from(text, 'utf8'))), expected: expectFail('SNT_APPROVAL_PAYLOAD_NONCANONICAL', 'payload') };
    }
    case 'duplicate_member': {
      const text = canonical({ ...p }).toString('utf8');
      const dup = `{"approvalId":"${p.approvalId}-dup",${text.slice(1)}`;
      return { ...none, description: 'payload with a duplicated member, re-signed', event: withEnvelope(base, resign(Buffer.from(dup, 'utf8'))), expected: expectFail('SNT_APPROVAL_MALFORMED', 'payload') };
    }
    case 'schema_violation': {
      const dropped = pick(rng, Object.keys(p));
      const variants: Json[] = [
        { ...p, extra: true },
        Object.fromEntries(Object.entries(p).filter(([k]) => k !== dropped)),
        { ...p, issuedAt: String(p.issuedAt) },
        { ...p, approvers: [], basis: 'human_approval' },
        { ...p, riskTier: 'critical' },
      ];
      return { ...none, description: 'payload outside the schema, re-signed', event: withEnvelope(base, resign(pick(rng, variants))), expected: expectFail('SNT_APPROVAL_MALFORMED', 'payload') };
    }
    case 'replay':
      return { description: 'the same valid approval delivered again', event: base.event, expected: expectFail('SNT_APPROVAL_REPLAYED', 'single_use'), requiresPriorUse: true };
    default: {
      const unreachable: never = kind;
      throw new TypeError(`unknown mutation ${String(unreachable)}`);
    }
  }
}

export interface GenerateOptions {
  seed: number;
  count: number;
  /** Restrict to these kinds (default: all, uniformly). */
  kinds?: readonly MutationKind[];
  /** Prefix of the generated decision/intent ids (unique per run in shared environments). */
  idPrefix?: string;
}

/** `count` mutations, reproducible from `seed`; each from its own fresh base approval. */
export function* generateMutations(scenario: MutationScenario, options: GenerateOptions): Generator<Mutation> {
  const rng = createRng(options.seed);
  const kinds = options.kinds ?? MUTATION_KINDS;
  const prefix = options.idPrefix ?? `m${options.seed}`;
  for (let i = 0; i < options.count; i++) {
    const kind = pick(rng, kinds);
    const base = createBase(scenario, rng, `${prefix}-${i}`);
    yield { kind, base, ...mutate(kind, base, scenario, rng) };
  }
}

/** The verifier input for delivering `mutation` in `scenario` (seen = the replayed base only). */
export function verifyInputFor(scenario: MutationScenario, mutation: Mutation): VerifyInput {
  const used = mutation.requiresPriorUse ? mutation.base.payload.approvalId : null;
  return {
    registry: scenario.registry,
    now: scenario.now,
    audience: scenario.audience,
    clockSkewMs: scenario.clockSkewMs,
    maxTtlMs: scenario.maxTtlMs,
    action: mutation.event.action,
    event: { intentId: mutation.event.intentId, decisionId: mutation.event.decisionId, approvalId: mutation.event.approvalId },
    seen: (id) => id === used,
  };
}
