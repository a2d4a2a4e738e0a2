// The approval payload, version 1 (docs/approval-format.md §3): its type, its exact schema, and
// its one byte encoding (RFC 8785 canonical JSON, UTF-8). Pure.
import { CanonicalizationError, canonicalBytes } from '../canonical/jcs.ts';
import {
  ACTION_TYPES, CHANNEL_NAMES,
  type ActionType, type ChannelName, type EpochMillis, type RiskTier,
} from '../domain/types.ts';
import { parseStrictJson } from './strict-json.ts';

/** DSSE payloadType of an approval. A new schema version gets a new type; verifiers pin this one. */
export const APPROVAL_PAYLOAD_TYPE = 'application/vnd.aureus.approval+json; version=1';

/** Largest payload, so that PAE(type, payload) always fits the 4096 bytes KMS signs in RAW mode. */
export const MAX_PAYLOAD_BYTES = 4000;
export const MAX_APPROVERS = 16;
export const MAX_RULE_IDS = 64;
export const MAX_ID_LENGTH = 200;

/** Default lifetime of an approval (issue 5: 5 minutes). */
export const DEFAULT_APPROVAL_TTL_MS = 5 * 60_000;

export type ApprovalBasis = 'policy_allow' | 'human_approval';
export const APPROVAL_BASES: readonly ApprovalBasis[] = ['policy_allow', 'human_approval'];
const RISK_TIERS: readonly RiskTier[] = ['low', 'medium', 'high'];

export interface ApprovalPrincipal {
  userId: string;
  channel: ChannelName;
  channelUserId: string;
}

/** How the approver's answer reached us, copied from the authenticated platform callback. */
export interface ApprovalEvidence {
  platform: ChannelName;
  authenticatedBy: string;
  platformUserId: string;
  platformMessageId: string | null;
  callbackDigest: string | null;
  receivedAt: EpochMillis;
}

export interface ApprovalApprover extends ApprovalPrincipal {
  responseId: string;
  respondedAt: EpochMillis;
  evidence: ApprovalEvidence;
}

export interface ApprovalPayload {
  approvalId: string;
  intentId: string;
  decisionId: string;
  actionType: ActionType;
  /** "sha256:<64 lower-case hex>" of the RFC 8785 canonical action. */
  actionDigest: string;
  basis: ApprovalBasis;
  requester: ApprovalPrincipal;
  /** Empty for policy_allow; the distinct approving humans for human_approval. */
  approvers: ApprovalApprover[];
  riskTier: RiskTier;
  ruleIds: string[];
  policyVersion: string;
  policyDigest: string;
  issuedAt: EpochMillis;
  notBefore: EpochMillis;
  expiresAt: EpochMillis;
  nonce: string;
  audience: string;
  issuer: string;
}

export const DIGEST_PATTERN = /^sha256:[0-9a-f]{64}$/;
const NONCE_PATTERN = /^[A-Za-z0-9_-]{22,86}$/;
/** Whether a string contains a control character (C0, DEL or C1). */
export function hasControlCharacter(value: string): boolean {
  for (let i = 0; i < value.length; i++) {
    const c = value.charCodeAt(i);
    if (c < 0x20 || (c >= 0x7f && c <= 0x9f)) return true;
  }
  return false;
}

class SchemaViolation extends Error {}

type Obj = Record<string, unknown>;

function fail(path: string, message: string): never {
  throw new SchemaViolation(`${path}: ${message}`);
}

function object(value: unknown, path: string, keys: readonly string[]): Obj {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) fail(path, 'must be an object');
  const obj = value as Obj;
  for (const key of Object.keys(obj)) if (!keys.includes(key)) fail(path, `unknown member "${key}"`);
  for (const key of keys) if (!Object.hasOwn(obj, key)) fail(path, `missing member "${key}"`);
  return obj;
}

// Ids and names: printable text without control characters, 1..MAX_ID_LENGTH UTF-16 units.
function text(value: unknown, path: string): string {
  if (typeof value !== 'string') fail(path, 'must be a string');
  if (value.length === 0 || value.length > MAX_ID_LENGTH) fail(path, `must be 1..${MAX_ID_LENGTH} characters`);
  if (hasControlCharacter(value)) fail(path, 'must not contain control characters');
  return value;
}

function nullableText(value: unknown, path: string): string | null {
  return value === null ? null : text(value, path);
}

function millis(value: unknown, path: string): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0) {
    fail(path, 'must be a non-negative integer of epoch milliseconds');
  }
  return value;
}

function digest(value: unknown, path: string): string {
  if (typeof value !== 'string' || !DIGEST_PATTERN.test(value)) fail(path, 'must be "sha256:" and 64 lower-case hex digits');
  return value;
}

function oneOf<T extends string>(value: unknown, path: string, allowed: readonly T[]): T {
  if (typeof value !== 'string' || !(allowed as readonly string[]).includes(value)) fail(path, `must be one of ${allowed.join(', ')}`);
  return value as T;
}

function principal(value: unknown, path: string, extra: readonly string[] = []): { obj: Obj; principal: ApprovalPrincipal } {
  const obj = object(value, path, ['userId', 'channel', 'channelUserId', ...extra]);
  return {
    obj,
    principal: {
      userId: text(obj.userId, `${path}.userId`),
      channel: oneOf(obj.channel, `${path}.channel`, CHANNEL_NAMES),
      channelUserId: text(obj.channelUserId, `${path}.channelUserId`),
    },
  };
}

function evidence(value: unknown, path: string): ApprovalEvidence {
  const obj = object(value, path, ['platform', 'authenticatedBy', 'platformUserId', 'platformMessageId', 'callbackDigest', 'receivedAt']);
  return {
    platform: oneOf(obj.platform, `${path}.platform`, CHANNEL_NAMES),
    authenticatedBy: text(obj.authenticatedBy, `${path}.authenticatedBy`),
    platformUserId: text(obj.platformUserId, `${path}.platformUserId`),
    platformMessageId: nullableText(obj.platformMessageId, `${path}.platformMessageId`),
    callbackDigest: obj.callbackDigest === null ? null : digest(obj.callbackDigest, `${path}.callbackDigest`),
    receivedAt: millis(obj.receivedAt, `${path}.receivedAt`),
  };
}

function approver(value: unknown, path: string): ApprovalApprover {
  const { obj, principal: who } = principal(value, path, ['responseId', 'respondedAt', 'evidence']);
  return {
    ...who,
    responseId: text(obj.responseId, `${path}.responseId`),
    respondedAt: millis(obj.respondedAt, `${path}.respondedAt`),
    evidence: evidence(obj.evidence, `${path}.evidence`),
  };
}

function list<T>(value: unknown, path: string, max: number, item: (v: unknown, p: string) => T): T[] {
  if (!Array.isArray(value)) fail(path, 'must be an array');
  if (value.length > max) fail(path, `must have at most ${max} items`);
  return value.map((v, i) => item(v, `${path}[${i}]`));
}

const PAYLOAD_KEYS = [
  'approvalId', 'intentId', 'decisionId', 'actionType', 'actionDigest', 'basis', 'requester', 'approvers',
  'riskTier', 'ruleIds', 'policyVersion', 'policyDigest', 'issuedAt', 'notBefore', 'expiresAt', 'nonce',
  'audience', 'issuer',
] as const;

function toPayload(value: unknown): ApprovalPayload {
  const obj = object(value, '$', PAYLOAD_KEYS);
  const payload: ApprovalPayload = {
    approvalId: text(obj.approvalId, '$.approvalId'),
    intentId: text(obj.intentId, '$.intentId'),
    decisionId: text(obj.decisionId, '$.decisionId'),
    actionType: oneOf(obj.actionType, '$.actionType', ACTION_TYPES),
    actionDigest: digest(obj.actionDigest, '$.actionDigest'),
    basis: oneOf(obj.basis, '$.basis', APPROVAL_BASES),
    requester: principal(obj.requester, '$.requester').principal,
    approvers: list(obj.approvers, '$.approvers', MAX_APPROVERS, approver),
    riskTier: oneOf(obj.riskTier, '$.riskTier', RISK_TIERS),
    ruleIds: list(obj.ruleIds, '$.ruleIds', MAX_RULE_IDS, text),
    policyVersion: text(obj.policyVersion, '$.policyVersion'),
    policyDigest: digest(obj.policyDigest, '$.policyDigest'),
    issuedAt: millis(obj.issuedAt, '$.issuedAt'),
    notBefore: millis(obj.notBefore, '$.notBefore'),
    expiresAt: millis(obj.expiresAt, '$.expiresAt'),
    nonce: typeof obj.nonce === 'string' && NONCE_PATTERN.test(obj.nonce)
      ? obj.nonce : fail('$.nonce', 'must be 22..86 base64url characters (16..64 bytes)'),
    audience: text(obj.audience, '$.audience'),
    issuer: text(obj.issuer, '$.issuer'),
  };
  // Cross-field invariants.
  if (payload.notBefore < payload.issuedAt) fail('$.notBefore', 'must not be before issuedAt');
  if (payload.expiresAt <= payload.notBefore) fail('$.expiresAt', 'must be after notBefore');
  if (payload.basis === 'policy_allow' && payload.approvers.length !== 0) fail('$.approvers', 'must be empty when basis is policy_allow');
  if (payload.basis === 'human_approval' && payload.approvers.length === 0) fail('$.approvers', 'must name at least one approver when basis is human_approval');
  const seen = new Set<string>();
  for (const [i, a] of payload.approvers.entries()) {
    if (seen.has(a.userId)) fail(`$.approvers[${i}].userId`, 'approvers must be distinct users');
    seen.add(a.userId);
  }
  return payload;
}

export type PayloadCheck =
  | { ok: true; payload: ApprovalPayload }
  | { ok: false; problem: 'malformed' | 'noncanonical'; reason: string };

/** Checks that a value is a complete, well-formed version-1 payload (used by the signer before signing). */
export function validateApprovalPayload(value: unknown): PayloadCheck {
  try {
    return { ok: true, payload: toPayload(value) };
  } catch (error) {
    if (error instanceof SchemaViolation) return { ok: false, problem: 'malformed', reason: error.message };
    throw error;
  }
}

/** The signed bytes of a payload: RFC 8785 canonical JSON in UTF-8. */
export function encodeApprovalPayload(payload: ApprovalPayload): Buffer {
  return canonicalBytes(payload);
}

/**
 * Parses signed payload bytes: strict JSON (no duplicate members, no lone surrogates, valid UTF-8),
 * the exact version-1 schema, and byte-for-byte equality with the canonical re-encoding.
 */
export function decodeApprovalPayload(bytes: Uint8Array): PayloadCheck {
  if (bytes.length > MAX_PAYLOAD_BYTES) return { ok: false, problem: 'malformed', reason: `payload is ${bytes.length} bytes, over ${MAX_PAYLOAD_BYTES}` };
  const parsed = parseStrictJson(bytes);
  if (!parsed.ok) return { ok: false, problem: 'malformed', reason: `payload is not strict JSON: ${parsed.reason}` };
  const checked = validateApprovalPayload(parsed.value);
  if (!checked.ok) return checked;
  let canonical: Buffer;
  try {
    canonical = canonicalBytes(parsed.value);
  } catch (error) {
    if (error instanceof CanonicalizationError) return { ok: false, problem: 'malformed', reason: error.message };
    throw error;
  }
  if (!canonical.equals(bytes)) return { ok: false, problem: 'noncanonical', reason: 'payload bytes are not the RFC 8785 canonical form of their JSON value' };
  return checked;
}
