import { createHash } from 'node:crypto';
import type { Action } from '../domain/types.ts';
import { canonicalBytes } from './jcs.ts';

/** "sha256:<hex>" of arbitrary bytes. */
export function sha256Tagged(bytes: Buffer | string): string {
  return `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
}

/** The digest an approval binds: SHA-256 over the RFC 8785 canonical JSON of the typed action. */
export function actionDigest(action: Action): string {
  return sha256Tagged(canonicalBytes(action));
}

/** Digest of any canonicalisable value (rule sets, context snapshots, audit records). */
export function canonicalDigest(value: unknown): string {
  return sha256Tagged(canonicalBytes(value));
}
