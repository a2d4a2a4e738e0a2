// Web chat sign-in tokens for production (WEBCHAT_SESSION_SECRET): "v1.<payload>.<mac>", with
// payload = base64url(JSON {sub, exp}) and mac = base64url(HMAC-SHA256(secret, "v1." + payload)).
// Whatever signs users in (SSO, the host application) mints one per user; the page sends it in
// its hello frame. Verification is constant-time; time is passed in.
import { createHmac, timingSafeEqual } from 'node:crypto';

const PREFIX = 'v1.';

function mac(secret: string, payload: string): Buffer {
  return createHmac('sha256', secret).update(`${PREFIX}${payload}`).digest();
}

/** A token for `userId` (the web identity of config/identities.yaml), valid until `expiresAt` (epoch ms). */
export function mintWebchatToken(secret: string, userId: string, expiresAt: number): string {
  const payload = Buffer.from(JSON.stringify({ sub: userId, exp: Math.floor(expiresAt / 1000) })).toString('base64url');
  return `${PREFIX}${payload}.${mac(secret, payload).toString('base64url')}`;
}

/** The web identity a token proves, if it is authentic, unexpired and for the user id the page claims. */
export function verifyWebchatToken(secret: string, token: string | null, claimedUserId: string, now: number): string | null {
  if (secret === '' || token === null || !token.startsWith(PREFIX)) return null;
  const [payload, signature, extra] = token.slice(PREFIX.length).split('.');
  if (payload === undefined || signature === undefined || extra !== undefined) return null;
  const expected = mac(secret, payload);
  const presented = Buffer.from(signature, 'base64url');
  if (presented.length !== expected.length || !timingSafeEqual(presented, expected)) return null;
  let claims: { sub?: unknown; exp?: unknown };
  try {
    claims = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as { sub?: unknown; exp?: unknown };
  } catch {
    return null;
  }
  if (typeof claims.sub !== 'string' || typeof claims.exp !== 'number' || claims.exp * 1000 <= now) return null;
  return claims.sub === claimedUserId ? claims.sub : null;
}
