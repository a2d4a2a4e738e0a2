// Key ids (docs/keys-and-kms.md §1): the RFC 7638 JWK thumbprint of the Ed25519 public key.
// Derived from the key, so an id can never name another key, and any JOSE library computes it.
// Pure.
import { createHash } from 'node:crypto';
import { encodeBase64Url } from '../encoding.ts';
import { PUBLIC_KEY_BYTES } from '../ed25519.ts';

/** Key ids are 43 base64url characters (SHA-256, unpadded). */
export const KEY_ID_PATTERN = /^[A-Za-z0-9_-]{43}$/;

/**
 * RFC 7638 §3: SHA-256 over the UTF-8 bytes of the JWK's required members in lexicographic order,
 * without whitespace: {"crv":"Ed25519","kty":"OKP","x":"<base64url(raw key)>"}; the id is the
 * unpadded base64url of that digest.
 */
export function deriveKeyId(publicKey: Uint8Array): string {
  if (publicKey.length !== PUBLIC_KEY_BYTES) throw new RangeError(`an Ed25519 public key is 32 bytes, got ${publicKey.length}`);
  const jwk = `{"crv":"Ed25519","kty":"OKP","x":"${encodeBase64Url(publicKey)}"}`;
  return createHash('sha256').update(jwk, 'utf8').digest('base64url');
}
