// Check 1, `envelope`: the envelope is well formed and carries exactly one signature.
import type { Envelope } from '../../domain/types.ts';
import { envelopeFromJson } from '../dsse.ts';
import { MAX_PAYLOAD_BYTES } from '../payload.ts';
import { type CheckResult, failure, pass } from './types.ts';

export interface SingleSignatureEnvelope {
  payloadType: string;
  payload: Buffer;
  keyid: string;
  sig: Buffer;
}

function asBuffer(value: unknown): Buffer | null {
  if (Buffer.isBuffer(value)) return value;
  if (value instanceof Uint8Array) return Buffer.from(value.buffer, value.byteOffset, value.byteLength);
  return null;
}

/** Checks a decoded envelope (the Avro record's value). */
export function checkEnvelope(envelope: Envelope | unknown): CheckResult<SingleSignatureEnvelope> {
  if (typeof envelope !== 'object' || envelope === null) return failure('SNT_APPROVAL_MALFORMED', 'no envelope');
  const e = envelope as Partial<Record<keyof Envelope, unknown>>;
  if (typeof e.payloadType !== 'string') return failure('SNT_APPROVAL_MALFORMED', 'payloadType is not a string');
  const payload = asBuffer(e.payload);
  if (payload === null) return failure('SNT_APPROVAL_MALFORMED', 'payload is not bytes');
  if (payload.length > MAX_PAYLOAD_BYTES) return failure('SNT_APPROVAL_MALFORMED', `payload is ${payload.length} bytes, over ${MAX_PAYLOAD_BYTES}`);
  if (!Array.isArray(e.signatures) || e.signatures.length !== 1) {
    return failure('SNT_APPROVAL_MALFORMED', `an approval carries exactly one signature, found ${Array.isArray(e.signatures) ? e.signatures.length : 'none'}`);
  }
  const [signature] = e.signatures as unknown[];
  if (typeof signature !== 'object' || signature === null) return failure('SNT_APPROVAL_MALFORMED', 'signatures[0] is not an object');
  const s = signature as { keyid?: unknown; sig?: unknown };
  if (typeof s.keyid !== 'string' || s.keyid === '') return failure('SNT_APPROVAL_MALFORMED', 'signatures[0].keyid is empty');
  const sig = asBuffer(s.sig);
  if (sig === null) return failure('SNT_APPROVAL_MALFORMED', 'signatures[0].sig is not bytes');
  return pass({ payloadType: e.payloadType, payload, keyid: s.keyid, sig });
}

/** Checks the JSON form (HTTP POST /verify, test vectors), then the same rules. */
export function checkEnvelopeJson(json: unknown): CheckResult<SingleSignatureEnvelope> {
  const parsed = envelopeFromJson(json);
  if (!parsed.ok) return failure('SNT_APPROVAL_MALFORMED', parsed.reason);
  return checkEnvelope(parsed.envelope);
}
