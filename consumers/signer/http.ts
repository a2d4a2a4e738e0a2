// Bridge HTTP API (:3000). Never a signing oracle: POST /sign names a decision id, the decision is
// read from the signer's own store (never from the caller), and it is signed only if issueApproval
// says so (the same re-check as the consumer). /verify runs the executor's verification pipeline
// against the published keys; /public-key publishes them (JWKS with status). Key rotation on
// demand is an admin route behind the API key.
import type { FastifyInstance } from 'fastify';
import type { RoleMembers } from '../../src/approval/authorize.ts';
import { envelopeFromJson, envelopeToJson, type EnvelopeJson } from '../../src/approval/dsse.ts';
import { toJwks, keyRecordToJwk } from '../../src/approval/keys/jwks.ts';
import { decodeApprovalPayload } from '../../src/approval/payload.ts';
import { decodeBase64UrlStrict } from '../../src/approval/encoding.ts';
import { verifyApprovalJson } from '../../src/approval/verify/index.ts';
import { actionDigest } from '../../src/canonical/digest.ts';
import { fieldProblems, validateActionSchema, validationError } from '../../src/channels/schemas.ts';
import type { Action, SignedApprovalEvent } from '../../src/domain/types.ts';
import { SentinelError, isErrorCode } from '../../src/errors/index.ts';
import { issued, signDecision, type SigningSettings } from './handler.ts';
import type { KeyManager } from './keys.ts';
import type { Signer } from '../../src/approval/signers/signer.ts';
import type { SignerStore } from './store.ts';

export interface SignerApiDependencies {
  store: SignerStore;
  keys: KeyManager;
  settings: SigningSettings;
  roles: () => RoleMembers;
  clock: () => number;
  nonce: () => string;
  clockSkewMs: number;
  maxTtlMs: number;
  onSigned?: (signer: Signer, via: 'consumer' | 'http') => void;
}

const id = { type: 'string', minLength: 1, maxLength: 200 } as const;

const signBody = {
  type: 'object', additionalProperties: false, required: ['decisionId'],
  properties: { decisionId: id, action: { type: 'object' } },
} as const;

const envelopeSchema = {
  type: 'object', required: ['payloadType', 'payload', 'signatures'],
  properties: {
    payloadType: { type: 'string', maxLength: 256 },
    payload: { type: 'string', maxLength: 8192 },
    signatures: { type: 'array', maxItems: 8, items: { type: 'object', properties: { keyid: { type: 'string', maxLength: 256 }, sig: { type: 'string', maxLength: 512 } } } },
  },
} as const;

const verifyBody = {
  type: 'object', additionalProperties: false, required: ['envelope'],
  properties: { envelope: envelopeSchema, action: { type: 'object' }, intentId: id, decisionId: id, approvalId: id },
} as const;

const verifyQuery = {
  type: 'object', additionalProperties: false, required: ['approval'],
  properties: { approval: { type: 'string', minLength: 1, maxLength: 16384, pattern: '^[A-Za-z0-9_-]+={0,2}$' }, intentId: id, decisionId: id, approvalId: id },
} as const;

function parseAction(value: unknown): Action | undefined {
  if (value === undefined) return undefined;
  if (!validateActionSchema(value)) throw validationError('invalid action', fieldProblems(validateActionSchema.errors, '/action'));
  return value as Action;
}

export interface SignResponse {
  approvalId: string;
  decisionId: string;
  intentId: string;
  keyId: string;
  envelope: EnvelopeJson;
}

function signResponse(event: SignedApprovalEvent): SignResponse {
  return {
    approvalId: event.approvalId, decisionId: event.decisionId, intentId: event.intentId,
    keyId: event.envelope.signatures[0]?.keyid ?? '', envelope: envelopeToJson(event.envelope),
  };
}

/** POST /sign: the stored approval of a decision, or a new one if issueApproval permits it now. */
export async function signStoredDecision(deps: SignerApiDependencies, decisionId: string, action: Action | undefined): Promise<SignResponse> {
  // Signed already (the usual case: the consumer signs allow decisions as they arrive): one query.
  const existing = await deps.store.approvalOf(decisionId);
  if (existing !== null) {
    if (action !== undefined && actionDigest(action) !== actionDigest(existing.action)) {
      throw new SentinelError('SNT_SIGN_DIGEST_MISMATCH', 'the action is not the one this decision is about', { details: { decisionId } });
    }
    return signResponse(existing);
  }
  return deps.store.signOne(decisionId, async (state, stored) => {
    const known = state.known;
    if (known === null) throw new SentinelError('SNT_NOT_FOUND', `the signer has not seen decision ${decisionId}`, { details: { decisionId } });
    if (action !== undefined && actionDigest(action) !== known.decision.actionDigest) {
      throw new SentinelError('SNT_SIGN_DIGEST_MISMATCH', 'the action is not the one this decision is about', { details: { decisionId } });
    }
    if (stored !== null) return { issued: null, result: signResponse(stored) }; // signed meanwhile
    if (known.status !== 'pending') {
      const code = known.statusCode !== null && isErrorCode(known.statusCode) ? known.statusCode : 'SNT_SIGN_NOT_PERMITTED';
      throw new SentinelError(code, `decision ${decisionId} is ${known.status === 'not_signable' ? 'not signable' : known.status}`, { details: { decisionId } });
    }
    const accepted = state.responses.filter((r) => r.status === 'accepted').map((r) => r.response);
    const { result, signer } = await signDecision(known.decision, accepted, deps, deps.clock());
    if (!result.ok) throw new SentinelError(result.code, result.reason, { details: { decisionId } });
    if (signer === null) throw new SentinelError('SNT_INTERNAL', 'no signer answered');
    deps.onSigned?.(signer, 'http');
    return { issued: issued(result, signer, 'http'), result: signResponse(result.event) };
  });
}

export interface VerifyAnswer {
  valid: boolean;
  code: string | null;
  reason: string;
  check: string | null;
  keyId: string | null;
  approvalId: string | null;
  /** Whether the action binding was checked (an action was given, or the signer knows the decision). */
  bindingChecked: boolean;
}

/** /verify: the verification pipeline against the published keys (single use is the executor's). */
export async function verifyEnvelope(
  deps: SignerApiDependencies, envelopeJson: unknown, given: { action?: Action; intentId?: string; decisionId?: string; approvalId?: string },
): Promise<VerifyAnswer> {
  const parsed = envelopeFromJson(envelopeJson);
  const keyId = parsed.ok ? parsed.envelope.signatures[0]?.keyid ?? null : null;
  const registry = keyId === null ? await deps.keys.registry() : await deps.keys.registryFor(keyId);
  // Unverified peek at the payload, only to default the ids and find the decision's action.
  const peek = parsed.ok ? decodeApprovalPayload(parsed.envelope.payload) : null;
  const claimed = peek?.ok ? peek.payload : null;
  const decisionId = given.decisionId ?? claimed?.decisionId ?? '';
  let action = given.action;
  if (action === undefined && decisionId !== '') action = (await deps.store.decisionOf(decisionId))?.action;
  const bindingChecked = action !== undefined;
  const verdict = verifyApprovalJson({
    registry, now: deps.clock(), audience: deps.settings.audience, issuers: [deps.settings.issuer],
    clockSkewMs: deps.clockSkewMs, maxTtlMs: deps.maxTtlMs,
    // Without an action the binding check cannot pass; a failure there is reported as "not checked".
    action: action ?? { type: 'tool_call', tool: '(none)', argumentsJson: '{}' },
    event: { intentId: given.intentId ?? claimed?.intentId ?? '', decisionId, ...(given.approvalId ?? claimed?.approvalId ? { approvalId: given.approvalId ?? claimed!.approvalId } : {}) },
  }, envelopeJson);
  if (verdict.ok) {
    return { valid: true, code: null, reason: 'the approval verifies', check: null, keyId: verdict.keyId, approvalId: verdict.payload.approvalId, bindingChecked };
  }
  if (!bindingChecked && verdict.check === 'binding' && verdict.code === 'SNT_APPROVAL_DIGEST_MISMATCH') {
    return {
      valid: true, code: null, check: null, keyId: verdict.keyId, approvalId: verdict.payload?.approvalId ?? null, bindingChecked: false,
      reason: 'signature, key, payload, audience, issuer and time verify; the action binding was not checked (no action given and the decision is unknown here)',
    };
  }
  return { valid: false, code: verdict.code, reason: verdict.reason, check: verdict.check, keyId: verdict.keyId, approvalId: verdict.payload?.approvalId ?? null, bindingChecked };
}

export function registerSignerRoutes(app: FastifyInstance, deps: SignerApiDependencies): void {
  app.post('/sign', { config: { auth: 'api-key' }, schema: { body: signBody } }, async (request) => {
    const body = request.body as { decisionId: string; action?: unknown };
    const signed = await signStoredDecision(deps, body.decisionId, parseAction(body.action));
    return { ...signed, traceId: request.trace.traceId };
  });

  app.get('/verify', { schema: { querystring: verifyQuery } }, async (request) => {
    const q = request.query as { approval: string; intentId?: string; decisionId?: string; approvalId?: string };
    const bytes = decodeBase64UrlStrict(q.approval.replace(/=+$/, ''));
    const envelope = ((): unknown => {
      try {
        return bytes === null ? null : JSON.parse(bytes.toString('utf8')) as unknown;
      } catch {
        return null;
      }
    })();
    if (envelope === null) throw new SentinelError('SNT_VALIDATION_FAILED', 'approval must be the base64url of the envelope JSON', { details: { paths: ['querystring/approval'] } });
    const { approval: _approval, ...ids } = q;
    return { ...await verifyEnvelope(deps, envelope, ids), traceId: request.trace.traceId };
  });

  app.post('/verify', { schema: { body: verifyBody } }, async (request) => {
    const body = request.body as { envelope: unknown; action?: unknown; intentId?: string; decisionId?: string; approvalId?: string };
    const { envelope, action, ...ids } = body;
    const parsedAction = parseAction(action);
    return { ...await verifyEnvelope(deps, envelope, { ...ids, ...(parsedAction ? { action: parsedAction } : {}) }), traceId: request.trace.traceId };
  });

  app.get('/public-key', async (request) => {
    const record = deps.keys.currentRecord();
    const registry = await deps.keys.registry(true);
    return {
      keyId: record.keyId,
      algorithm: 'Ed25519',
      origin: record.origin,
      mode: deps.keys.mode,
      publicKey: keyRecordToJwk(record).x,
      jwk: keyRecordToJwk(record),
      keys: toJwks(registry).keys,
      traceId: request.trace.traceId,
    };
  });

  app.post('/admin/keys/rotate', { config: { auth: 'api-key' } }, async (request) => {
    const result = await deps.keys.rotate(true);
    return { ...result, traceId: request.trace.traceId };
  });
}
