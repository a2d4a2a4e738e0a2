// Local Ed25519 signer (node:crypto). The private KeyObject is built once, when the signer is created;
// sign() does no parsing or allocation beyond the signature itself.
// Development uses an ephemeral key (generate); production without KMS loads a PKCS#8 PEM from a
// file or a secret (SIGNING_KEY_FILE).
import { createPrivateKey, generateKeyPairSync, sign as cryptoSign, type KeyObject } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { SentinelError } from '../../errors/index.ts';
import { ED25519_PKCS8_PREFIX, rawPublicKey } from '../ed25519.ts';
import { deriveKeyId } from '../keys/key-id.ts';
import type { KeyOrigin } from '../keys/registry.ts';
import type { Signer } from './signer.ts';

export class LocalEd25519Signer implements Signer {
  readonly keyId: string;
  readonly publicKey: Buffer;
  readonly origin: KeyOrigin;
  readonly #privateKey: KeyObject;

  private constructor(privateKey: KeyObject, origin: KeyOrigin) {
    if (privateKey.type !== 'private' || privateKey.asymmetricKeyType !== 'ed25519') {
      throw new TypeError(`expected an ed25519 private key, got ${privateKey.asymmetricKeyType ?? privateKey.type}`);
    }
    this.#privateKey = privateKey;
    this.publicKey = rawPublicKey(privateKey);
    this.keyId = deriveKeyId(this.publicKey);
    this.origin = origin;
  }

  /** A fresh random key (development; and the in-memory key of the delegated mode). */
  static generate(origin: KeyOrigin = 'local'): LocalEd25519Signer {
    return new LocalEd25519Signer(generateKeyPairSync('ed25519').privateKey, origin);
  }

  /** From an RFC 8032 32-byte seed (test vectors, reproducible fixtures). */
  static fromSeed(seed: Uint8Array, origin: KeyOrigin = 'local'): LocalEd25519Signer {
    if (seed.length !== 32) throw new RangeError(`an Ed25519 seed is 32 bytes, got ${seed.length}`);
    const der = Buffer.concat([ED25519_PKCS8_PREFIX, seed]);
    return new LocalEd25519Signer(createPrivateKey({ key: der, format: 'der', type: 'pkcs8' }), origin);
  }

  /** From a PKCS#8 PEM ("-----BEGIN PRIVATE KEY-----"). Throws SNT_CONFIG_INVALID for anything else. */
  static fromPkcs8Pem(pem: string | Buffer, origin: KeyOrigin = 'local'): LocalEd25519Signer {
    let key: KeyObject;
    try {
      key = createPrivateKey({ key: pem, format: 'pem' });
    } catch (error) {
      throw new SentinelError('SNT_CONFIG_INVALID', 'SIGNING_KEY_FILE: not a PKCS#8 PEM private key', { cause: error });
    }
    if (key.asymmetricKeyType !== 'ed25519') {
      throw new SentinelError('SNT_CONFIG_INVALID', `SIGNING_KEY_FILE: expected an Ed25519 key, got ${key.asymmetricKeyType ?? 'unknown'}`);
    }
    return new LocalEd25519Signer(key, origin);
  }

  static fromKeyObject(privateKey: KeyObject, origin: KeyOrigin = 'local'): LocalEd25519Signer {
    return new LocalEd25519Signer(privateKey, origin);
  }

  /** Loads SIGNING_KEY_FILE (adapter I/O). The path comes from configuration, passed in. */
  static async fromPemFile(path: string): Promise<LocalEd25519Signer> {
    let pem: Buffer;
    try {
      pem = await readFile(path);
    } catch (error) {
      throw new SentinelError('SNT_CONFIG_INVALID', `SIGNING_KEY_FILE: cannot read ${path}`, { cause: error });
    }
    return LocalEd25519Signer.fromPkcs8Pem(pem);
  }

  /** Synchronous signing (the raw node:crypto call). */
  signSync(data: Uint8Array): Buffer {
    return cryptoSign(null, data, this.#privateKey);
  }

  sign(data: Buffer): Promise<Buffer> {
    return Promise.resolve(this.signSync(data));
  }

  /** PKCS#8 PEM of the private key, for writing a development key to a file the operator chose. */
  exportPkcs8Pem(): string {
    return this.#privateKey.export({ format: 'pem', type: 'pkcs8' }).toString();
  }

  toJSON(): { keyId: string; origin: KeyOrigin } {
    return { keyId: this.keyId, origin: this.origin };
  }
}
