// Platform callback authentication: Slack signing secret, Discord Ed25519, Telegram secret token.
import assert from 'node:assert/strict';
import { generateKeyPairSync, sign } from 'node:crypto';
import { test } from 'node:test';
import fc from 'fast-check';
import {
  callbackDigest, constantTimeEqual, discordPublicKey, headerValue, slackSignature, verifyDiscordSignature, verifySlackSignature,
  verifyTelegramSecretToken,
} from '../../../src/channels/auth/verify.ts';

// The worked example of https://api.slack.com/authentication/verifying-requests-from-slack
const SLACK_SECRET = '8f742231b10e8888abcd99yyyzzz85a5';
const SLACK_TIMESTAMP = '1531420618';
const SLACK_BODY = 'token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J&team_domain=testteamnow&channel_id=G8PSS9T3V&channel_name=foobar&user_id=U2CERLKJA&user_name=roadrunner&command=%2Fwebhook-collect&text=&response_url=https%3A%2F%2Fhooks.slack.com%2Fcommands%2FT1DC2JH3J%2F397700885554%2F96rGlfmibIGlgcZRskXaIFfN&trigger_id=398738663015.47445629121.803a0bc887a14d10d2c447fce8b6703c';
const SLACK_SIGNATURE = 'v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503';
const SLACK_NOW = Number(SLACK_TIMESTAMP) * 1000 + 30_000;

test('Slack: the documented example verifies', () => {
  assert.equal(slackSignature(SLACK_SECRET, SLACK_TIMESTAMP, SLACK_BODY), SLACK_SIGNATURE);
  assert.deepEqual(verifySlackSignature({ signingSecret: SLACK_SECRET, signature: SLACK_SIGNATURE, timestamp: SLACK_TIMESTAMP, rawBody: Buffer.from(SLACK_BODY), now: SLACK_NOW }),
    { ok: true, authenticatedBy: 'slack-signing-secret' });
});

test('Slack: wrong secret, changed body, missing headers and stale or future timestamps fail', () => {
  const base = { signingSecret: SLACK_SECRET, signature: SLACK_SIGNATURE, timestamp: SLACK_TIMESTAMP, rawBody: Buffer.from(SLACK_BODY), now: SLACK_NOW };
  const code = (input: Partial<typeof base> & { signature?: string | undefined; timestamp?: string | undefined }) => {
    const r = verifySlackSignature({ ...base, ...input });
    return r.ok ? 'ok' : r.code;
  };
  assert.equal(code({ signingSecret: 'other' }), 'SNT_CHANNEL_FORGED_CALLBACK');
  assert.equal(code({ rawBody: Buffer.from(SLACK_BODY + '&x=1') }), 'SNT_CHANNEL_FORGED_CALLBACK');
  assert.equal(code({ signature: SLACK_SIGNATURE.toUpperCase() }), 'SNT_CHANNEL_FORGED_CALLBACK');
  assert.equal(code({ signature: undefined }), 'SNT_CHANNEL_FORGED_CALLBACK');
  assert.equal(code({ timestamp: undefined }), 'SNT_CHANNEL_FORGED_CALLBACK');
  assert.equal(code({ timestamp: '15314206a8' }), 'SNT_CHANNEL_FORGED_CALLBACK');
  assert.equal(code({ now: Number(SLACK_TIMESTAMP) * 1000 + 301_000 }), 'SNT_CHANNEL_STALE_CALLBACK');
  assert.equal(code({ now: Number(SLACK_TIMESTAMP) * 1000 - 301_000 }), 'SNT_CHANNEL_STALE_CALLBACK');
  assert.equal(code({ now: Number(SLACK_TIMESTAMP) * 1000 + 299_000 }), 'ok');
  assert.throws(() => verifySlackSignature({ ...base, signingSecret: '' }), TypeError);
});

test('property: a Slack signature binds every byte of the body', () => {
  fc.assert(
    fc.property(fc.uint8Array({ minLength: 1, maxLength: 200 }), fc.nat({ max: 199 }), (bytes, at) => {
      const body = Buffer.from(bytes);
      const signature = slackSignature('s3cret', '1700000000', body);
      const input = { signingSecret: 's3cret', signature, timestamp: '1700000000', now: 1_700_000_000_000 };
      assert.equal(verifySlackSignature({ ...input, rawBody: body }).ok, true);
      const flipped = Buffer.from(body);
      const i = at % flipped.length;
      flipped[i] = flipped[i]! ^ 0x01;
      assert.equal(verifySlackSignature({ ...input, rawBody: flipped }).ok, false);
    }),
    { numRuns: 200 },
  );
});

test('Discord: Ed25519 over timestamp + body with the application public key', () => {
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  const hex = Buffer.from(publicKey.export({ format: 'jwk' }).x!, 'base64url').toString('hex');
  const key = discordPublicKey(hex);
  const body = Buffer.from('{"type":1}');
  const timestamp = '1700000000';
  const signature = sign(null, Buffer.concat([Buffer.from(timestamp), body]), privateKey).toString('hex');
  const now = 1_700_000_010_000;
  const verify = (over: Partial<Parameters<typeof verifyDiscordSignature>[0]>) => {
    const r = verifyDiscordSignature({ publicKey: key, signature, timestamp, rawBody: body, now, ...over });
    return r.ok ? r.authenticatedBy : r.code;
  };
  assert.equal(verify({}), 'discord-ed25519');
  assert.equal(verify({ rawBody: Buffer.from('{"type":2}') }), 'SNT_CHANNEL_FORGED_CALLBACK');
  assert.equal(verify({ timestamp: '1700000001' }), 'SNT_CHANNEL_FORGED_CALLBACK');
  assert.equal(verify({ signature: signature.slice(0, 126) }), 'SNT_CHANNEL_FORGED_CALLBACK');
  assert.equal(verify({ signature: undefined }), 'SNT_CHANNEL_FORGED_CALLBACK');
  const other = generateKeyPairSync('ed25519').publicKey;
  assert.equal(verify({ publicKey: other }), 'SNT_CHANNEL_FORGED_CALLBACK');
  assert.equal(verify({ now: 1_700_000_000_000 + 301_000 }), 'SNT_CHANNEL_STALE_CALLBACK');
  assert.equal(verify({ now: 1_700_000_000_000 + 10 * 86_400_000, maxSkewSeconds: 0 }), 'discord-ed25519');
  assert.throws(() => discordPublicKey('zz'), TypeError);
});

test('Telegram: the secret token must match exactly', () => {
  assert.deepEqual(verifyTelegramSecretToken('abc_DEF-123', 'abc_DEF-123'), { ok: true, authenticatedBy: 'telegram-webhook-secret-token' });
  for (const received of [undefined, '', 'abc_DEF-12', 'abc_DEF-1234', 'ABC_DEF-123']) {
    const r = verifyTelegramSecretToken(received, 'abc_DEF-123');
    assert.equal(r.ok, false, String(received));
  }
  assert.throws(() => verifyTelegramSecretToken('x', 'not allowed!'), TypeError);
  assert.throws(() => verifyTelegramSecretToken('x', ''), TypeError);
});

test('helpers: header lookup is case-insensitive and refuses duplicates; digests and comparisons', () => {
  assert.equal(headerValue({ 'X-Slack-Signature': 'a' }, 'x-slack-signature'), 'a');
  assert.equal(headerValue({ 'x-slack-signature': ['a', 'b'] }, 'x-slack-signature'), undefined);
  assert.equal(headerValue({ 'x-slack-signature': ['a'] }, 'X-SLACK-SIGNATURE'), 'a');
  assert.equal(headerValue({}, 'x'), undefined);
  assert.equal(callbackDigest('abc'), 'sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
  assert.equal(constantTimeEqual('same', 'same'), true);
  assert.equal(constantTimeEqual('same', 'sam'), false);
  assert.equal(constantTimeEqual('', ''), true);
});
