// Signed checkpoints of an audit chain (docs/audit.md §4). A checkpoint states "chain C had, at link
// n, the hash h", signed with the signer's Ed25519 key as a DSSE envelope under its own payloadType:
// an approval verifier refuses it (wrong payloadType) and a checkpoint verifier refuses approvals,
// so the one key can sign both without either ever passing for the other. Pure: the Signer and the
// key registry are parameters.
import { canonicalize } from '../canonical/jcs.ts';
import type { Envelope, EpochMillis } from '../domain/types.ts';
import { preAuthEncoding } from '../approval/dsse.ts';
import { verifyStrict } from '../approval/ed25519.ts';
import { findKey, isRevoked } from '../approval/keys/registry.ts';
import type { Signer } from '../approval/signers/signer.ts';
import { parseStrictJson } from '../approval/strict-json.ts';
import type { KeyTimeline } from './key-timeline.ts';

export const CHECKPOINT_PAYLOAD_TYPE = 'application/vnd.aureus.audit-checkpoint+json; version=1';

export interface CheckpointPayload {
  chainId: string;
  /** The last link the checkpoint covers. */
  sequence: number;
  /** That link's hash. */
  hash: string;
  issuedAt: EpochMillis;
  /** Who signed, e.g. "sentinel-audit". */
  issuer: string;
}

const KEYS = ['chainId', 'hash', 'issuedAt', 'issuer', 'sequence'];

export function encodeCheckpoint(payload: CheckpointPayload): string {
  return canonicalize(payload);
}

/** Signs a checkpoint payload: DSSE over PAE(CHECKPOINT_PAYLOAD_TYPE, JCS(payload)). */
export async function signCheckpoint(payload: CheckpointPayload, signer: Signer): Promise<{ recordJson: string; envelope: Envelope }> {
  const recordJson = encodeCheckpoint(payload);
  const bytes = Buffer.from(recordJson, 'utf8');
  const sig = await signer.sign(preAuthEncoding(CHECKPOINT_PAYLOAD_TYPE, bytes));
  return { recordJson, envelope: { payloadType: CHECKPOINT_PAYLOAD_TYPE, payload: bytes, signatures: [{ keyid: signer.keyId, sig }] } };
}

export type CheckpointVerdict = { ok: true; payload: CheckpointPayload; keyId: string } | { ok: false; reason: string; keyId: string | null };

function parsePayload(bytes: Buffer): CheckpointPayload | string {
  const parsed = parseStrictJson(bytes);
  if (!parsed.ok) return `payload is not strict JSON: ${parsed.reason}`;
  const v = parsed.value as Record<string, unknown>;
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return 'payload is not an object';
  const keys = Object.keys(v).sort();
  if (keys.length !== KEYS.length || keys.some((k, i) => k !== KEYS[i])) return `payload members must be exactly ${KEYS.join(', ')}`;
  const { chainId, sequence, hash, issuedAt, issuer } = v;
  if (typeof chainId !== 'string' || typeof hash !== 'string' || typeof issuer !== 'string') return 'chainId, hash and issuer must be strings';
  if (!Number.isSafeInteger(sequence) || (sequence as number) < 1) return 'sequence must be a positive integer';
  if (!Number.isSafeInteger(issuedAt) || (issuedAt as number) < 0) return 'issuedAt must be epoch milliseconds';
  const payload = { chainId, sequence: sequence as number, hash, issuedAt: issuedAt as number, issuer };
  if (encodeCheckpoint(payload) !== bytes.toString('utf8')) return 'payload bytes are not canonical';
  return payload;
}

/**
 * Verifies a checkpoint envelope: exact payloadType, one signature by a key of the registry, strict
 * Ed25519 over the bytes (before they are parsed), a canonical payload, and a key that, in the
 * registry as it stood at the checkpoint's issuedAt, was not revoked and whose window holds it.
 * The caller compares the payload with the chain.
 */
export function verifyCheckpoint(envelope: Envelope, keys: KeyTimeline): CheckpointVerdict {
  if (envelope.payloadType !== CHECKPOINT_PAYLOAD_TYPE) return { ok: false, reason: `payloadType is "${envelope.payloadType}", not the checkpoint type`, keyId: null };
  if (envelope.signatures.length !== 1) return { ok: false, reason: `a checkpoint carries exactly one signature, found ${envelope.signatures.length}`, keyId: null };
  const { keyid, sig } = envelope.signatures[0]!;
  const known = findKey(keys.latest, keyid);
  if (known === undefined) return { ok: false, reason: `key ${keyid} is not in the key registry`, keyId: keyid };
  const result = verifyStrict(known.key, preAuthEncoding(envelope.payloadType, envelope.payload), sig);
  if (result !== 'ok') return { ok: false, reason: result === 'noncanonical' ? 'the signature is not canonical' : 'the signature does not verify', keyId: keyid };
  const payload = parsePayload(envelope.payload);
  if (typeof payload === 'string') return { ok: false, reason: payload, keyId: keyid };
  const registry = keys.at(payload.issuedAt);
  const entry = findKey(registry, keyid);
  if (entry === undefined) return { ok: false, reason: `key ${keyid} did not exist yet at ${payload.issuedAt}`, keyId: keyid };
  if (isRevoked(registry, entry)) return { ok: false, reason: `key ${keyid} was revoked at ${payload.issuedAt}`, keyId: keyid };
  if (payload.issuedAt < entry.record.notBefore || payload.issuedAt > entry.record.notAfter) {
    return { ok: false, reason: `issuedAt ${payload.issuedAt} is outside the key's window`, keyId: keyid };
  }
  return { ok: true, payload, keyId: keyid };
}
