// API keys for service-to-service calls. Keys are compared as SHA-256 digests with
// crypto.timingSafeEqual against every configured key (several keys allow rotation), so neither
// the comparison nor the number of keys checked depends on how much of a guess was right.
import { createHash, timingSafeEqual } from 'node:crypto';

export interface ApiKeyCheck {
  /** True when no key is configured (development): every caller is let through. */
  readonly open: boolean;
  /** The caller's key id (a non-secret digest prefix) when `candidate` is valid, else null. */
  verify(candidate: string | undefined): string | null;
}

const digest = (value: string) => createHash('sha256').update(value).digest();

export function apiKeyCheck(keys: readonly string[]): ApiKeyCheck {
  const digests = keys.map((k) => ({ digest: digest(k), id: digest(k).subarray(0, 4).toString('hex') }));
  return {
    open: digests.length === 0,
    verify(candidate) {
      if (candidate === undefined || candidate.length === 0 || candidate.length > 512) return null;
      const presented = digest(candidate);
      let match: string | null = null;
      for (const key of digests) {
        if (timingSafeEqual(presented, key.digest)) match = key.id;
      }
      return match;
    },
  };
}

/** The key from `Authorization: Bearer <key>` or `X-API-Key: <key>`. */
export function presentedKey(headers: Record<string, string | string[] | undefined>): string | undefined {
  const auth = headers.authorization;
  if (typeof auth === 'string' && /^Bearer\s+/i.test(auth)) return auth.replace(/^Bearer\s+/i, '').trim();
  const key = headers['x-api-key'];
  return typeof key === 'string' ? key.trim() : undefined;
}
