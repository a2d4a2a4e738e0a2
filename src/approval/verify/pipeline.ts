// verifyApproval: the ordered pipeline of named checks (docs/approval-format.md §6). Pure: the time,
// the key registry and the "seen" predicate are inputs. The first failing check decides the verdict.
import type { Envelope } from '../../domain/types.ts';
import type { RegisteredKey } from '../keys/registry.ts';
import type { ApprovalPayload } from '../payload.ts';
import { checkAudience, checkIssuer } from './audience.ts';
import { checkBinding } from './binding.ts';
import { type SingleSignatureEnvelope, checkEnvelope, checkEnvelopeJson } from './envelope.ts';
import { checkKeyValidity } from './key-validity.ts';
import { checkKey } from './key.ts';
import { checkPayloadType } from './payload-type.ts';
import { checkPayload } from './payload.ts';
import { checkSignature } from './signature.ts';
import { checkSingleUse } from './single-use.ts';
import { checkTime } from './time.ts';
import {
  type CheckName, type CheckResult, DEFAULT_CLOCK_SKEW_MS, DEFAULT_MAX_TTL_MS, type Verdict, type VerificationCode, type VerifyInput,
} from './types.ts';

function refused(check: CheckName, result: { code: VerificationCode; reason: string }, keyId: string | null, payload: ApprovalPayload | null): Verdict {
  return { ok: false, code: result.code, reason: result.reason, check, keyId, payload };
}

function fromEnvelope(input: VerifyInput, checked: CheckResult<SingleSignatureEnvelope>): Verdict {
  if (!checked.ok) return refused('envelope', checked, null, null);
  const env = checked.value;

  const type = checkPayloadType(env.payloadType);
  if (!type.ok) return refused('payload_type', type, env.keyid, null);

  const key = checkKey(input.registry, env.keyid);
  if (!key.ok) return refused('key', key, env.keyid, null);
  const entry: RegisteredKey = key.value;

  const signature = checkSignature(entry, env);
  if (!signature.ok) return refused('signature', signature, env.keyid, null);

  const parsed = checkPayload(env.payload);
  if (!parsed.ok) return refused('payload', parsed, env.keyid, null);
  const payload = parsed.value;

  const steps: Array<[CheckName, () => CheckResult<unknown>]> = [
    ['key_validity', () => checkKeyValidity(entry, payload)],
    ['audience', () => checkAudience(input.audience, payload)],
    ['issuer', () => checkIssuer(input.issuers, payload)],
    ['time', () => checkTime(input.now, input.clockSkewMs ?? DEFAULT_CLOCK_SKEW_MS, input.maxTtlMs ?? DEFAULT_MAX_TTL_MS, payload)],
    ['binding', () => checkBinding(input.action, input.event, payload)],
    ['single_use', () => checkSingleUse(input.seen, payload)],
  ];
  for (const [name, run] of steps) {
    const result = run();
    if (!result.ok) return refused(name, result, env.keyid, payload);
  }
  return { ok: true, payload, keyId: env.keyid };
}

/** Verifies a decoded envelope (from the Avro approval record) for the action about to run. */
export function verifyApproval(input: VerifyInput, envelope: Envelope): Verdict {
  return fromEnvelope(input, checkEnvelope(envelope));
}

/** Verifies the JSON form of an envelope (HTTP POST /verify, test vectors). */
export function verifyApprovalJson(input: VerifyInput, envelopeJson: unknown): Verdict {
  return fromEnvelope(input, checkEnvelopeJson(envelopeJson));
}
