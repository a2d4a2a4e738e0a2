// The Signer port (docs/keys-and-kms.md §6). A signer owns one Ed25519 key; it derives its public key
// from the private key (or KMS) and never takes a public key as input, so the double-public-key
// signing oracle cannot arise. Adapters: local.ts, kms.ts, delegated.ts.
import type { KeyOrigin } from '../keys/registry.ts';

export interface Signer {
  /** RFC 7638 thumbprint of publicKey (keys/key-id.ts). */
  readonly keyId: string;
  /** Raw 32-byte Ed25519 public key. */
  readonly publicKey: Buffer;
  readonly origin: KeyOrigin;
  /** Pure Ed25519 (RFC 8032, not Ed25519ph) over `data`; resolves to the 64-byte signature. */
  sign(data: Buffer): Promise<Buffer>;
}

/**
 * Where the signer consumer and POST /sign get the signer for one signing operation. A static key
 * always answers the same signer; the delegated mode answers the current short-lived key, renewing
 * (and publishing) it first when due. Ask once per approval, then sign with what it returned.
 */
export interface SignerSource {
  current(): Promise<Signer>;
}

export function staticSignerSource(signer: Signer): SignerSource {
  return { current: () => Promise.resolve(signer) };
}
