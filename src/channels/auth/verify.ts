// Authentication of platform callbacks, exactly as each platform specifies it. Pure: the current
// time is a parameter. Every comparison of secrets is constant-time.
//
// - Telegram: the secret token given to setWebhook comes back in X-Telegram-Bot-Api-Secret-Token.
//   https://core.telegram.org/bots/api#setwebhook
// - Discord: Ed25519 signature (hex, X-Signature-Ed25519) over timestamp (X-Signature-Timestamp)
//   followed by the raw body, checked with the application's public key.
//   https://discord.com/developers/docs/interactions/overview#setting-up-an-endpoint-validating-security-request-headers
// - Slack: X-Slack-Signature = "v0=" + hex(HMAC-SHA256(signing secret, "v0:" + timestamp + ":" + raw body)),
//   X-Slack-Request-Timestamp within five minutes of now.
//   https://api.slack.com/authentication/verifying-requests-from-slack
import { createHash, createHmac, createPublicKey, timingSafeEqual, verify, type KeyObject } from 'node:crypto';
import { sha256Tagged } from '../../canonical/digest.ts';
import type { EpochMillis } from '../../domain/types.ts';

export type CallbackVerification =
  | { ok: true; authenticatedBy: string }
  | { ok: false; code: 'SNT_CHANNEL_FORGED_CALLBACK' | 'SNT_CHANNEL_STALE_CALLBACK'; reason: string };

export const AUTHENTICATED_BY = {
  telegramWebhook: 'telegram-webhook-secret-token',
  telegramPolling: 'telegram-bot-api-polling',
  discordSignature: 'discord-ed25519',
  discordGateway: 'discord-gateway',
  slackSignature: 'slack-signing-secret',
  slackSocketMode: 'slack-socket-mode',
} as const;

/** One header value, case-insensitively; a header sent twice is refused (undefined). */
export function headerValue(headers: Readonly<Record<string, string | string[] | undefined>>, name: string): string | undefined {
  const wanted = name.toLowerCase();
  let found: string | undefined;
  let count = 0;
  for (const [key, value] of Object.entries(headers)) {
    if (key.toLowerCase() !== wanted || value === undefined) continue;
    if (Array.isArray(value)) {
      count += value.length;
      found = value[0];
    } else {
      count += 1;
      found = value;
    }
  }
  return count === 1 ? found : undefined;
}

/** "sha256:<hex>" of the raw callback body, recorded with every approval answer. */
export function callbackDigest(rawBody: Buffer | string): string {
  return sha256Tagged(rawBody);
}

/** Constant-time equality of two strings of any length (compares their SHA-256 digests). */
export function constantTimeEqual(a: string, b: string): boolean {
  const da = createHash('sha256').update(a, 'utf8').digest();
  const db = createHash('sha256').update(b, 'utf8').digest();
  return timingSafeEqual(da, db) && a.length === b.length;
}

// ------------------------------------------------------------------------------------------------
// Telegram

/** Telegram allows 1-256 characters A-Z, a-z, 0-9, "_" and "-". */
export const TELEGRAM_SECRET_TOKEN = /^[A-Za-z0-9_-]{1,256}$/;

export function verifyTelegramSecretToken(received: string | undefined, expected: string): CallbackVerification {
  if (!TELEGRAM_SECRET_TOKEN.test(expected)) throw new TypeError('the Telegram webhook secret must be 1-256 characters of A-Z, a-z, 0-9, _ and -');
  if (received === undefined) return { ok: false, code: 'SNT_CHANNEL_FORGED_CALLBACK', reason: 'missing X-Telegram-Bot-Api-Secret-Token' };
  if (!constantTimeEqual(received, expected)) return { ok: false, code: 'SNT_CHANNEL_FORGED_CALLBACK', reason: 'X-Telegram-Bot-Api-Secret-Token does not match' };
  return { ok: true, authenticatedBy: AUTHENTICATED_BY.telegramWebhook };
}

// ------------------------------------------------------------------------------------------------
// Discord

/** Imports a Discord application public key (64 hex characters, as shown in the developer portal). */
export function discordPublicKey(hex: string): KeyObject {
  if (!/^[0-9a-fA-F]{64}$/.test(hex)) throw new TypeError('the Discord public key must be 64 hex characters');
  return createPublicKey({ key: { kty: 'OKP', crv: 'Ed25519', x: Buffer.from(hex, 'hex').toString('base64url') }, format: 'jwk' });
}

export interface DiscordSignatureInput {
  publicKey: KeyObject;
  signature: string | undefined;
  timestamp: string | undefined;
  rawBody: Buffer;
  now: EpochMillis;
  /**
   * Discord does not document a freshness window; refusing timestamps far from now limits replays
   * of a captured request. Default 300 s; 0 disables the check.
   */
  maxSkewSeconds?: number;
}

export function verifyDiscordSignature(input: DiscordSignatureInput): CallbackVerification {
  const { signature, timestamp } = input;
  if (signature === undefined || timestamp === undefined) {
    return { ok: false, code: 'SNT_CHANNEL_FORGED_CALLBACK', reason: 'missing X-Signature-Ed25519 or X-Signature-Timestamp' };
  }
  if (!/^[0-9a-fA-F]{128}$/.test(signature)) return { ok: false, code: 'SNT_CHANNEL_FORGED_CALLBACK', reason: 'X-Signature-Ed25519 is not a hex Ed25519 signature' };
  if (!/^\d{1,12}$/.test(timestamp)) return { ok: false, code: 'SNT_CHANNEL_FORGED_CALLBACK', reason: 'X-Signature-Timestamp is not a Unix time' };
  const message = Buffer.concat([Buffer.from(timestamp, 'utf8'), input.rawBody]);
  if (!verify(null, message, input.publicKey, Buffer.from(signature, 'hex'))) {
    return { ok: false, code: 'SNT_CHANNEL_FORGED_CALLBACK', reason: 'the Ed25519 signature does not verify' };
  }
  const skew = input.maxSkewSeconds ?? 300;
  if (skew > 0 && Math.abs(input.now / 1000 - Number(timestamp)) > skew) {
    return { ok: false, code: 'SNT_CHANNEL_STALE_CALLBACK', reason: `X-Signature-Timestamp is more than ${skew} s from now` };
  }
  return { ok: true, authenticatedBy: AUTHENTICATED_BY.discordSignature };
}

// ------------------------------------------------------------------------------------------------
// Slack

export interface SlackSignatureInput {
  signingSecret: string;
  signature: string | undefined;
  timestamp: string | undefined;
  rawBody: Buffer;
  now: EpochMillis;
  /** Slack's recommendation: five minutes. */
  toleranceSeconds?: number;
}

/** The value Slack puts in X-Slack-Signature for this timestamp and body. */
export function slackSignature(signingSecret: string, timestamp: string, rawBody: Buffer | string): string {
  const mac = createHmac('sha256', signingSecret);
  mac.update(`v0:${timestamp}:`, 'utf8');
  mac.update(rawBody);
  return `v0=${mac.digest('hex')}`;
}

export function verifySlackSignature(input: SlackSignatureInput): CallbackVerification {
  if (input.signingSecret === '') throw new TypeError('the Slack signing secret is empty');
  const { signature, timestamp } = input;
  if (signature === undefined || timestamp === undefined) {
    return { ok: false, code: 'SNT_CHANNEL_FORGED_CALLBACK', reason: 'missing X-Slack-Signature or X-Slack-Request-Timestamp' };
  }
  if (!/^\d{1,12}$/.test(timestamp)) return { ok: false, code: 'SNT_CHANNEL_FORGED_CALLBACK', reason: 'X-Slack-Request-Timestamp is not a Unix time' };
  const tolerance = input.toleranceSeconds ?? 300;
  if (Math.abs(input.now / 1000 - Number(timestamp)) > tolerance) {
    return { ok: false, code: 'SNT_CHANNEL_STALE_CALLBACK', reason: `X-Slack-Request-Timestamp is more than ${tolerance} s from now` };
  }
  const expected = slackSignature(input.signingSecret, timestamp, input.rawBody);
  const given = Buffer.from(signature, 'utf8');
  const wanted = Buffer.from(expected, 'utf8');
  if (given.length !== wanted.length || !timingSafeEqual(given, wanted)) {
    return { ok: false, code: 'SNT_CHANNEL_FORGED_CALLBACK', reason: 'X-Slack-Signature does not match' };
  }
  return { ok: true, authenticatedBy: AUTHENTICATED_BY.slackSignature };
}
