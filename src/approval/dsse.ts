// DSSE (https://github.com/secure-systems-lab/dsse, protocol v1.0.0): the pre-authentication
// encoding that is signed, and the JSON form of the envelope. Pure.
import type { Envelope } from '../domain/types.ts';
import { decodeBase64Strict, encodeBase64 } from './encoding.ts';

const PAE_PREFIX = Buffer.from('DSSEv1 ', 'ascii');
const SP = Buffer.from(' ', 'ascii');

/**
 * PAE(type, body) = "DSSEv1" SP LEN(type) SP type SP LEN(body) SP body, where LEN is the ASCII
 * decimal byte length without leading zeros and type is UTF-8.
 */
export function preAuthEncoding(payloadType: string, payload: Uint8Array): Buffer {
  const type = Buffer.from(payloadType, 'utf8');
  return Buffer.concat([
    PAE_PREFIX,
    Buffer.from(String(type.length), 'ascii'), SP, type, SP,
    Buffer.from(String(payload.length), 'ascii'), SP, payload,
  ]);
}

/** The JSON form of an envelope (HTTP, test vectors, logs): payload and sig in padded standard base64. */
export interface EnvelopeJson {
  payloadType: string;
  payload: string;
  signatures: Array<{ keyid: string; sig: string }>;
}

export function envelopeToJson(envelope: Envelope): EnvelopeJson {
  return {
    payloadType: envelope.payloadType,
    payload: encodeBase64(envelope.payload),
    signatures: envelope.signatures.map((s) => ({ keyid: s.keyid, sig: encodeBase64(s.sig) })),
  };
}

export type EnvelopeParse = { ok: true; envelope: Envelope } | { ok: false; reason: string };

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * Parses the JSON form. Follows DSSE's parsing rules: unknown members are ignored, an absent
 * keyid equals an empty one, payload and sig may use either base64 alphabet (decoded strictly).
 */
export function envelopeFromJson(value: unknown): EnvelopeParse {
  if (!isPlainObject(value)) return { ok: false, reason: 'the envelope is not a JSON object' };
  const { payloadType, payload, signatures } = value;
  if (typeof payloadType !== 'string') return { ok: false, reason: 'payloadType is not a string' };
  if (typeof payload !== 'string') return { ok: false, reason: 'payload is not a string' };
  const payloadBytes = decodeBase64Strict(payload);
  if (payloadBytes === null) return { ok: false, reason: 'payload is not valid base64' };
  if (!Array.isArray(signatures)) return { ok: false, reason: 'signatures is not an array' };
  const sigs: Envelope['signatures'] = [];
  for (const [i, entry] of signatures.entries()) {
    if (!isPlainObject(entry)) return { ok: false, reason: `signatures[${i}] is not an object` };
    const keyid = entry.keyid ?? '';
    if (typeof keyid !== 'string') return { ok: false, reason: `signatures[${i}].keyid is not a string` };
    if (typeof entry.sig !== 'string') return { ok: false, reason: `signatures[${i}].sig is not a string` };
    const sig = decodeBase64Strict(entry.sig);
    if (sig === null) return { ok: false, reason: `signatures[${i}].sig is not valid base64` };
    sigs.push({ keyid, sig });
  }
  return { ok: true, envelope: { payloadType, payload: payloadBytes, signatures: sigs } };
}
