// The channels service's pure parts: intent and response ids, who may answer a prompt, where each
// reply goes, which delivery failures are retried, and web chat sign-in tokens.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { expiryResponse } from '../../../consumers/signer/expiry.ts';
import { classifyDeliveryFailure, retryDelayMs } from '../../../producers/channels/classify.ts';
import {
  buildIntent, directReply, expiredResponseOf, humanResponseOf, intentIdFor, screenAnswer, storableText, type StoredPrompt,
} from '../../../producers/channels/model.ts';
import { planDeliveries, type RoutingContext } from '../../../producers/channels/routing.ts';
import { mintWebchatToken, verifyWebchatToken } from '../../../producers/channels/websignin.ts';
import { parseIdentityLinks } from '../../../src/channels/identity/links.ts';
import type { ApprovalAnswer } from '../../../src/channels/types.ts';
import type { ApprovalPrompt, ChannelReply, Principal } from '../../../src/domain/types.ts';
import { SentinelError } from '../../../src/errors/index.ts';

const NOW = Date.UTC(2026, 10, 25, 12, 0, 0);

const directory = parseIdentityLinks(`
version: 1
users:
  alice: { displayName: Alice, identities: { web: alice, telegram: "101", http: alice-agent } }
  carol: { displayName: Carol, identities: { web: carol, telegram: "103", slack: U0CAROL } }
  bob: { displayName: Bob, identities: { web: bob, discord: "302" } }
  nobody: { identities: { http: nobody-agent } }
roles:
  finance: { members: [carol, bob] }
  ghosts: { members: [nobody] }
`);

const principal = (userId: string, channel: Principal['channel'] = 'web'): Principal => ({ userId, channel, channelUserId: userId, displayName: null });

function prompt(overrides: Partial<ApprovalPrompt> = {}): ApprovalPrompt {
  return {
    decisionId: 'dec-1', intentId: 'int-1', requester: principal('alice'), actionSummary: 'transfer 5,000.00 USD to Alice', riskTier: 'medium',
    reason: 'above 1000.00', deadline: NOW + 60_000, approvers: ['role:finance'], requiredApprovals: 1, status: 'pending', decidedBy: null, ...overrides,
  };
}

function stored(overrides: Partial<StoredPrompt> = {}): StoredPrompt {
  return {
    decisionId: 'dec-1', intentId: 'int-1', conversation: { channel: 'web', conversationId: 'alice' }, requesterUserId: 'alice', prompt: prompt(),
    status: 'pending', deadline: NOW + 60_000, promptedUsers: ['bob', 'carol'], traceId: null, spanId: null, expiredEmittedAt: null, ...overrides,
  };
}

function reply(overrides: Partial<ChannelReply> = {}): ChannelReply {
  return { replyId: 'r-1', conversation: { channel: 'web', conversationId: 'alice' }, intentId: 'int-1', recipientUserId: null, kind: 'outcome', text: 'Done', prompt: null, ...overrides };
}

const context = (reachable: Array<Principal['channel']>, promptRefs: RoutingContext['promptRefs'] = []): RoutingContext => ({ directory, reachable: new Set(reachable), promptRefs });

test('a message is identified by channel, conversation and platform message id: a redelivery is the same intent', () => {
  assert.equal(intentIdFor('telegram', '101', '7'), intentIdFor('telegram', '101', '7'));
  assert.notEqual(intentIdFor('telegram', '101', '7'), intentIdFor('telegram', '101', '8'));
  assert.notEqual(intentIdFor('telegram', '101', '7'), intentIdFor('discord', '101', '7'));
  const intent = buildIntent({
    conversation: { channel: 'web', conversationId: 'alice' }, requester: principal('alice'), source: 'chat', text: 'run uptime on web-2',
    action: { type: 'command_run', host: 'web-2', command: 'uptime' }, extraction: { extractor: 'rules/1', confidence: 0.9 }, platformMessageId: 'm1', submittedAt: NOW,
  });
  assert.equal(intent.intentId, intentIdFor('web', 'alice', 'm1'));
  assert.equal(directReply({ channel: 'web', conversationId: 'alice', platformMessageId: 'm1' }, 'clarification', 'How much?').replyId,
    directReply({ channel: 'web', conversationId: 'alice', platformMessageId: 'm1' }, 'clarification', 'How much?').replyId);
});

test('who may answer: the people prompted and the requester, while pending and before the deadline; strangers learn nothing', () => {
  assert.deepEqual(screenAnswer(stored(), principal('carol'), 'dec-1', NOW), { ok: true });
  assert.deepEqual(screenAnswer(stored(), principal('alice'), 'dec-1', NOW), { ok: true }, 'the requester may confirm where policy lets them; the signer decides');
  const unknown = screenAnswer(null, principal('carol'), 'dec-x', NOW);
  assert.ok(!unknown.ok && unknown.code === 'SNT_NOT_FOUND');
  const stranger = screenAnswer(stored({ status: 'approved' }), principal('guest:web:eve'), 'dec-1', NOW);
  assert.ok(!stranger.ok && stranger.code === 'SNT_FORBIDDEN' && stranger.reason === 'not_an_approver', 'not "already approved": nothing leaks');
  const decided = screenAnswer(stored({ status: 'denied', prompt: prompt({ status: 'denied', decidedBy: 'Bob' }) }), principal('carol'), 'dec-1', NOW);
  assert.ok(!decided.ok && decided.code === 'SNT_CONFLICT' && /already denied \(by Bob\)/.test(decided.message));
  const late = screenAnswer(stored(), principal('carol'), 'dec-1', NOW + 60_001);
  assert.ok(!late.ok && late.reason === 'deadline_passed');
  const expired = screenAnswer(stored({ expiredEmittedAt: NOW }), principal('carol'), 'dec-1', NOW);
  assert.ok(!expired.ok && expired.reason === 'deadline_passed');
});

test('an answer becomes a HumanApprovalResponded with the approver and the platform evidence as authenticated', () => {
  const answer: ApprovalAnswer = {
    decisionId: 'dec-1', verdict: 'approve', platform: 'telegram', platformUserId: '103', displayName: 'Carol C', conversationId: '103',
    platformMessageId: '55', authenticatedBy: 'telegram-webhook-secret-token', callbackDigest: `sha256:${'a'.repeat(64)}`, receivedAt: NOW,
  };
  const approver: Principal = { userId: 'carol', channel: 'telegram', channelUserId: '103', displayName: 'Carol' };
  const response = humanResponseOf(answer, approver, 'int-1');
  assert.deepEqual(response.evidence, {
    platform: 'telegram', authenticatedBy: 'telegram-webhook-secret-token', platformUserId: '103', platformMessageId: '55',
    callbackDigest: `sha256:${'a'.repeat(64)}`, receivedAt: NOW,
  });
  assert.deepEqual([response.approver, response.verdict, response.intentId, response.respondedAt], [approver, 'approve', 'int-1', NOW]);
  assert.equal(humanResponseOf({ ...answer }, approver, 'int-1').responseId, response.responseId, 'a redelivered callback is the same response');
  assert.notEqual(humanResponseOf({ ...answer, callbackDigest: `sha256:${'b'.repeat(64)}` }, approver, 'int-1').responseId, response.responseId);
});

test('the expiry is one response per decision, with the same id as the signer\'s own deadline timer', () => {
  const response = expiredResponseOf(stored());
  assert.equal(response.verdict, 'expired');
  assert.equal(response.respondedAt, NOW + 60_000);
  assert.equal(response.responseId, expiredResponseOf(stored({ promptedUsers: [] })).responseId);
  const signers = expiryResponse({ decisionId: 'dec-1', intentId: 'int-1', deadline: NOW + 60_000 }, NOW + 61_000);
  assert.equal(response.responseId, signers.responseId, 'whichever fires first, the signer recognises the other as a repeat');
  assert.equal(response.evidence.platformUserId, response.approver.channelUserId);
});

test('routing: prompts reach every approver on every enabled channel they are linked on; gaps are reported, not skipped', () => {
  const r = reply({ kind: 'approval_prompt', recipientUserId: 'role:finance', prompt: prompt() });
  const plan = planDeliveries(r, context(['web', 'telegram', 'slack']));
  assert.deepEqual(plan.promptedUsers, ['bob', 'carol']);
  assert.deepEqual(plan.deliveries.map((d) => `${d.recipientUserId}:${d.channel}:${d.targetKey}:${d.operation}`).sort(), [
    'bob:web:user:bob:prompt', 'carol:slack:user:U0CAROL:prompt', 'carol:telegram:user:103:prompt', 'carol:web:user:carol:prompt',
  ]);
  assert.deepEqual(plan.problems, []);
  const ghosts = planDeliveries({ ...r, recipientUserId: 'role:ghosts' }, context(['web']));
  assert.deepEqual(ghosts.deliveries, []);
  assert.match(ghosts.problems[0]!, /nobody has no linked identity on an enabled channel/);
  assert.match(planDeliveries({ ...r, recipientUserId: 'role:none' }, context(['web'])).problems[0]!, /names nobody/);
});

test('routing: outcomes go to the conversation; http conversations are read over the API; a disabled channel is a reported failure', () => {
  assert.deepEqual(planDeliveries(reply(), context(['web'])).deliveries.map((d) => d.targetKey), ['conversation:alice']);
  assert.deepEqual(planDeliveries(reply({ conversation: { channel: 'http', conversationId: 'api:x' } }), context(['web'])).deliveries, []);
  const disabled = planDeliveries(reply({ conversation: { channel: 'discord', conversationId: 'c1' } }), context(['web']));
  assert.equal(disabled.deliveries.length, 1, 'still planned, so that its failure is recorded');
  assert.match(disabled.problems[0]!, /discord channel is not enabled/);
  // A reply for one person prefers the channel of the conversation it is about.
  const info = planDeliveries(reply({ kind: 'info', recipientUserId: 'carol', conversation: { channel: 'telegram', conversationId: '101' } }), context(['web', 'telegram']));
  assert.deepEqual(info.deliveries.map((d) => `${d.channel}:${d.targetKey}`), ['telegram:user:103']);
});

test('routing: an approval update edits every card of the decision; its text goes to the conversation only when addressed to it', () => {
  const refs = [
    { channel: 'telegram' as const, conversationId: '103', messageId: '55', decisionId: 'dec-1' },
    { channel: 'web' as const, conversationId: 'carol', messageId: 'web:dec-1', decisionId: 'dec-1' },
  ];
  const update = reply({ kind: 'approval_update', recipientUserId: 'role:finance', prompt: prompt({ status: 'approved', decidedBy: 'Carol' }) });
  const plan = planDeliveries(update, context(['web', 'telegram'], refs));
  assert.deepEqual(plan.deliveries.map((d) => `${d.channel}:${d.targetKey}:${d.operation}`), ['telegram:ref:103/55:update', 'web:ref:carol/web:dec-1:update']);
  const toConversation = planDeliveries({ ...update, recipientUserId: null }, context(['web', 'telegram'], refs));
  assert.deepEqual(toConversation.deliveries.map((d) => d.operation), ['update', 'update', 'text']);
});

test('delivery failures: rate limits, 5xx and the network are retried; the platform refusing the message is not', () => {
  const wrap = (cause: unknown) => new SentinelError('SNT_CHANNEL_DELIVERY_FAILED', 'failed', { cause });
  const telegram = (code: number) => Object.assign(new Error(`${code}`), { response: { ok: false, error_code: code, description: 'x' } });
  assert.equal(classifyDeliveryFailure(wrap(telegram(400))), 'permanent');
  assert.equal(classifyDeliveryFailure(wrap(telegram(403))), 'permanent');
  assert.equal(classifyDeliveryFailure(wrap(telegram(429))), 'transient');
  assert.equal(classifyDeliveryFailure(wrap(telegram(502))), 'transient');
  assert.equal(classifyDeliveryFailure(wrap(Object.assign(new Error('x'), { status: 403, code: 50007 }))), 'permanent', 'discord: cannot DM this user');
  assert.equal(classifyDeliveryFailure(wrap(Object.assign(new Error('x'), { status: 503 }))), 'transient');
  assert.equal(classifyDeliveryFailure(wrap(Object.assign(new Error('x'), { code: 'slack_webapi_platform_error', data: { error: 'channel_not_found' } }))), 'permanent');
  assert.equal(classifyDeliveryFailure(wrap(Object.assign(new Error('x'), { code: 'slack_webapi_platform_error', data: { error: 'ratelimited' } }))), 'transient');
  assert.equal(classifyDeliveryFailure(wrap(Object.assign(new Error('x'), { code: 'slack_webapi_rate_limited_error' }))), 'transient');
  assert.equal(classifyDeliveryFailure(wrap(new Error('fetch failed', { cause: Object.assign(new Error('refused'), { code: 'ECONNREFUSED' }) }))), 'transient');
  assert.equal(classifyDeliveryFailure(wrap(new Error('something odd'))), 'transient', 'unknown: retried, a bounded number of times');
  assert.deepEqual([1, 2, 3, 10].map((n) => retryDelayMs(n, 0.5)), [1000, 2000, 4000, 60_000]);
  assert.ok(retryDelayMs(1, 0) >= 750 && retryDelayMs(1, 1) <= 1250);
});

test('web chat sign-in tokens: authentic, unexpired and for the user id the page claims', () => {
  const token = mintWebchatToken('s3cret-value', 'carol', NOW + 60_000);
  assert.equal(verifyWebchatToken('s3cret-value', token, 'carol', NOW), 'carol');
  assert.equal(verifyWebchatToken('s3cret-value', token, 'bob', NOW), null, 'a token is for one user');
  assert.equal(verifyWebchatToken('other-secret', token, 'carol', NOW), null);
  assert.equal(verifyWebchatToken('s3cret-value', token, 'carol', NOW + 60_000), null, 'expired');
  const [prefix, , mac] = token.split('.');
  const forged = `${prefix}.${Buffer.from(JSON.stringify({ sub: 'carol', exp: 9_999_999_999 })).toString('base64url')}.${mac}`;
  assert.equal(verifyWebchatToken('s3cret-value', forged, 'carol', NOW), null, 'a changed payload fails the MAC');
  assert.equal(verifyWebchatToken('s3cret-value', null, 'carol', NOW), null);
  assert.equal(verifyWebchatToken('', token, 'carol', NOW), null, 'no secret, no token sign-in');
  assert.equal(verifyWebchatToken('s3cret-value', `${token}.x`, 'carol', NOW), null);
});

test('text for PostgreSQL: NUL and lone surrogates replaced', () => {
  assert.equal(storableText('a\u0000b\uD800c'), 'a\uFFFDb\uFFFDc');
});
