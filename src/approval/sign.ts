// Signing: canonical payload bytes -> DSSE PAE -> Ed25519 through a Signer -> Envelope.
// The only impure step is the Signer (local key or KMS).
import type { Decision, Envelope, EpochMillis, HumanApprovalResponse, SignedApprovalEvent } from '../domain/types.ts';
import { SentinelError } from '../errors/index.ts';
import { type RoleMembers, type SignRefusalCode, authorizeSigning } from './authorize.ts';
import { approvalIdFor, draftApproval } from './draft.ts';
import { preAuthEncoding } from './dsse.ts';
import { SIGNATURE_BYTES } from './ed25519.ts';
import {
  APPROVAL_PAYLOAD_TYPE, MAX_PAYLOAD_BYTES, type ApprovalPayload, encodeApprovalPayload, validateApprovalPayload,
} from './payload.ts';
import type { Signer, SignerSource } from './signers/signer.ts';

/**
 * Signs arbitrary payload bytes under a payload type: the DSSE primitive. Test tooling uses it to
 * build deliberately invalid approvals; services use signApproval.
 */
export async function signEnvelope(payloadType: string, payload: Buffer, signer: Signer): Promise<Envelope> {
  const sig = await signer.sign(preAuthEncoding(payloadType, payload));
  if (sig.length !== SIGNATURE_BYTES) {
    throw new SentinelError('SNT_INTERNAL', `signer ${signer.keyId} returned ${sig.length} signature bytes`);
  }
  return { payloadType, payload, signatures: [{ keyid: signer.keyId, sig }] };
}

/**
 * Signs an approval payload: checks it against the schema, encodes it (RFC 8785), refuses payloads
 * over MAX_PAYLOAD_BYTES (SNT_SIGN_PAYLOAD_TOO_LARGE), signs PAE(APPROVAL_PAYLOAD_TYPE, bytes).
 */
export async function signApproval(payload: ApprovalPayload, signer: Signer): Promise<Envelope> {
  const checked = validateApprovalPayload(payload);
  if (!checked.ok) throw new SentinelError('SNT_SIGN_PAYLOAD_INVALID', `refusing to sign an invalid approval: ${checked.reason}`);
  const bytes = encodeApprovalPayload(payload);
  if (bytes.length > MAX_PAYLOAD_BYTES) {
    throw new SentinelError('SNT_SIGN_PAYLOAD_TOO_LARGE', `approval payload is ${bytes.length} bytes, over ${MAX_PAYLOAD_BYTES}`, {
      details: { approvalId: payload.approvalId, bytes: bytes.length },
    });
  }
  return signEnvelope(APPROVAL_PAYLOAD_TYPE, bytes, signer);
}

export interface IssueOptions {
  now: EpochMillis;
  nonce: string;
  audience: string;
  issuer: string;
  ttlMs?: number;
  roles?: RoleMembers;
  /** Default approvalIdFor(decision.decisionId). */
  approvalId?: string;
}

export type IssueResult =
  | { ok: true; payload: ApprovalPayload; envelope: Envelope; keyId: string; event: SignedApprovalEvent }
  | { ok: false; code: SignRefusalCode; reason: string };

/**
 * The signer's whole job for one decision: authorise (authorizeSigning), draft, sign, and build the
 * event for the approvals topic. Refusals come back as values; signer failures (KMS) throw
 * SentinelError (retriable ones are SNT_KMS_THROTTLED / SNT_KMS_UNAVAILABLE).
 */
export async function issueApproval(
  decision: Decision,
  humanResponses: readonly HumanApprovalResponse[],
  signer: Signer | SignerSource,
  options: IssueOptions,
): Promise<IssueResult> {
  const authorization = authorizeSigning(decision, humanResponses, options.roles === undefined ? { now: options.now } : { now: options.now, roles: options.roles });
  if (!authorization.ok) return authorization;
  const draftOptions = {
    now: options.now,
    approvalId: options.approvalId ?? approvalIdFor(decision.decisionId),
    nonce: options.nonce,
    audience: options.audience,
    issuer: options.issuer,
    ...(options.ttlMs === undefined ? {} : { ttlMs: options.ttlMs }),
  };
  const payload = draftApproval(decision, authorization.approvers, draftOptions);
  const current = 'current' in signer ? await signer.current() : signer;
  const envelope = await signApproval(payload, current);
  return { ok: true, payload, envelope, keyId: current.keyId, event: approvalEvent(decision, payload, envelope) };
}

/** The record for the approvals topic: the envelope plus an unsigned copy of the action to run. */
export function approvalEvent(decision: Decision, payload: ApprovalPayload, envelope: Envelope): SignedApprovalEvent {
  return {
    approvalId: payload.approvalId,
    intentId: decision.intentId,
    decisionId: decision.decisionId,
    conversation: decision.conversation,
    action: decision.action,
    envelope,
  };
}
