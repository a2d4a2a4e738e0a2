// Base64 flavours used by the approval format (docs/approval-format.md §2).
// Pure. Producers always emit one form; decoders are strict about everything that is not a
// documented choice, so that one byte string never has two accepted text forms by accident.

const BASE64_CHARS = /^[A-Za-z0-9+/_-]*={0,2}$/;
const BASE64URL_NOPAD = /^[A-Za-z0-9_-]*$/;

/** RFC 4648 §4 standard alphabet with padding: how envelopes carry payload and sig in JSON. */
export function encodeBase64(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64');
}

/** RFC 4648 §5 URL-safe alphabet without padding: key ids, JWK `x`, nonces. */
export function encodeBase64Url(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64url');
}

/**
 * Decodes an envelope field. DSSE requires verifiers to accept the standard and the URL-safe
 * alphabet; both are accepted, with or without padding, but never mixed in one string, never with
 * characters outside the alphabet or whitespace, never with wrong padding, and never with non-zero
 * unused trailing bits (so each byte string has exactly one accepted text per alphabet/padding).
 * Returns null when the text is not such a string.
 */
export function decodeBase64Strict(text: string): Buffer | null {
  if (!BASE64_CHARS.test(text)) return null;
  const hasStd = text.includes('+') || text.includes('/');
  const hasUrl = text.includes('-') || text.includes('_');
  if (hasStd && hasUrl) return null;
  const body = text.replace(/=+$/, '');
  const padding = text.length - body.length;
  if (body.length % 4 === 1) return null;
  if (padding > 0 && (body.length + padding) % 4 !== 0) return null;
  const urlBody = hasStd ? body.replaceAll('+', '-').replaceAll('/', '_') : body;
  const bytes = Buffer.from(urlBody, 'base64url');
  if (bytes.toString('base64url') !== urlBody) return null; // non-zero trailing bits
  return bytes;
}

/** Decodes unpadded base64url strictly (key ids, JWK `x`); null when not canonical. */
export function decodeBase64UrlStrict(text: string): Buffer | null {
  if (!BASE64URL_NOPAD.test(text) || text.length % 4 === 1) return null;
  const bytes = Buffer.from(text, 'base64url');
  return bytes.toString('base64url') === text ? bytes : null;
}
