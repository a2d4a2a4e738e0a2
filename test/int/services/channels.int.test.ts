// The channels service ("OpenClaw") with the real policy consumer, on the real broker, registry,
// PostgreSQL and Redis: what reaches sentinel.intents and sentinel.human-approvals, what users are
// told, web chat across replicas, approval deadlines, delivery retries, and every refusal.
import assert from 'node:assert/strict';
import { randomBytes, randomInt } from 'node:crypto';
import { test } from 'node:test';
import WebSocket from 'ws';
import { mintWebchatToken } from '../../../producers/channels/websignin.ts';
import { ChannelReplyRequested, HumanApprovalResponded, IntentSubmitted, conversationKey } from '../../../src/contracts/events.ts';
import type { ChannelReply, HumanApprovalResponse, Intent } from '../../../src/domain/types.ts';
import { EventPublisher } from '../../../src/kafka/publisher.ts';
import type { IncomingMessage } from '../../../src/kafka/types.ts';
import { newTrace } from '../../../src/observability/trace.ts';
import { loadRuleSet } from '../../../src/policy/index.ts';
import type { EventCodec } from '../../../src/serde/codec.ts';
import { FakeTelegram } from '../../support/fakes/telegram.ts';
import {
  apiHeaders, CHANNELS_TEST_DB, startChannelsService, WebChatClient, writeTestConstitution, writeTestIdentities,
} from '../../support/channels-service.ts';
import { requireServices } from '../../support/infra.ts';
import { createTestBus, type TestBus } from '../../support/kafka.ts';
import { startPolicyService } from '../../support/policy-service.ts';
import { closingOnFailure } from '../../support/pipeline.ts';
import { waitFor } from '../../support/wait.ts';

const KEY = 'channels-test-key-0123456789';

async function decode<T>(codec: EventCodec, definition: { fromAvro(v: Record<string, unknown>): { data: T } }, record: IncomingMessage): Promise<T> {
  return definition.fromAvro((await codec.decode<Record<string, unknown>>(record.topic, record.value!)).value).data;
}

async function intentsOf(bus: TestBus, codec: EventCodec, count: number, settleMs = 0) {
  const records = await bus.readAll(bus.topicName('sentinel.intents'), count, { timeoutMs: 30_000, settleMs });
  return Promise.all(records.map(async (record) => ({ record, intent: await decode<Intent>(codec, IntentSubmitted, record) })));
}

async function responsesOf(bus: TestBus, codec: EventCodec, count: number, settleMs = 0) {
  const records = await bus.readAll(bus.topicName('sentinel.human-approvals'), count, { timeoutMs: 30_000, settleMs });
  return Promise.all(records.map(async (record) => ({ record, response: await decode<HumanApprovalResponse>(codec, HumanApprovalResponded, record) })));
}

async function publishReply(bus: TestBus, codec: EventCodec, reply: ChannelReply): Promise<void> {
  const publisher = new EventPublisher({ producer: bus.producer(), codec, topicName: bus.topicName, producerName: 'test-signer' });
  await publisher.publish(ChannelReplyRequested, reply, { key: conversationKey(reply.conversation), trace: newTrace() });
}

async function metric(url: string, name: string, labels: Record<string, string>): Promise<number> {
  const text = await (await fetch(`${url}/metrics`)).text();
  let total = 0;
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${name}{`)) continue;
    if (Object.entries(labels).every(([k, v]) => line.includes(`${k}="${v}"`))) total += Number(line.split(' ').at(-1));
  }
  return total;
}

async function history(url: string, conversationId: string, channel = 'http') {
  const response = await fetch(`${url}/api/conversations/${encodeURIComponent(conversationId)}/messages?channel=${channel}`, { headers: apiHeaders(KEY) });
  return { status: response.status, body: (await response.json()) as { messages: Array<{ direction: string; kind: string; text: string; intentId: string | null; deliveries?: Array<{ status: string; channel: string; attempts: number; error: string | null }> }> } };
}

test('HTTP API: tool calls and texts become intents once the broker has them; bad input is refused with a reason, counted, and changes nothing', async (t) => {
  const config = await requireServices('kafka', 'registry', 'postgres', 'redis');
  const bus = await createTestBus(t, config);
  const codec = await bus.codec();
  const people = await writeTestIdentities(t);
  const env = { IDENTITY_LINKS_FILE: people.file, API_KEY: KEY, BODY_LIMIT_BYTES: '4096', RATE_LIMIT_MAX_REQUESTS: '100000' };
  await startPolicyService(t, bus, { ...env, POSTGRES_DB: CHANNELS_TEST_DB });
  const { url } = await startChannelsService(t, bus, env);
  const agent = `${people.alice.userId}-agent`;
  const post = (body: unknown, headers = apiHeaders(KEY)) => fetch(`${url}/api/message`, { method: 'POST', headers, body: typeof body === 'string' ? body : JSON.stringify(body) });

  // A typed tool call: 202 with the intent id and trace id; the intent on the topic carries both.
  const accepted = await post({ userId: agent, messageId: 'm-1', toolCall: { tool: 'command_run', arguments: { host: 'build-01', command: 'df -h' } } });
  assert.equal(accepted.status, 202);
  const body = (await accepted.json()) as { intentId: string; traceId: string; conversation: { conversationId: string }; duplicate: boolean };
  assert.equal(accepted.headers.get('x-trace-id'), body.traceId);
  assert.equal(body.conversation.conversationId, `api:${agent}`);
  // The same message again (a client retry) is the same intent.
  const again = (await (await post({ userId: agent, messageId: 'm-1', toolCall: { tool: 'command_run', arguments: { host: 'build-01', command: 'df -h' } } })).json()) as { intentId: string; duplicate: boolean };
  assert.equal(again.intentId, body.intentId);
  assert.equal(again.duplicate, true);

  // A text that needs a clarifying question, then its answer.
  const clarify = await post({ userId: agent, text: 'transfer money to Bob' });
  assert.equal(clarify.status, 200);
  assert.match(((await clarify.json()) as { question: string }).question, /How much should I transfer to Bob/);
  const completed = await post({ userId: agent, text: '250' });
  assert.equal(completed.status, 202);
  const transfer = (await completed.json()) as { intentId: string; action: { type: string; amountMinor: number; payee: string } };
  assert.deepEqual([transfer.action.type, transfer.action.amountMinor, transfer.action.payee], ['transfer', 25000, 'Bob']);

  // An unknown tool is sent as a tool_call, and policy's refusal comes back on the conversation.
  const denied = (await (await post({ userId: agent, toolCall: { tool: 'crypto.mine', arguments: { coin: 'x' } } })).json()) as { intentId: string };

  const intents = await intentsOf(bus, codec, 4);
  const first = intents.filter((i) => i.intent.intentId === body.intentId);
  assert.ok(first.length >= 1, 'the tool call reached sentinel.intents');
  assert.equal(first[0]!.record.headers['x-trace-id'], body.traceId, 'the response\'s trace id is the intent\'s');
  assert.equal(first[0]!.record.key?.toString(), `user:${people.alice.userId}`, 'keyed by the requester: the agent acts for alice');
  assert.equal(first[0]!.intent.requester.userId, people.alice.userId);
  assert.equal(first[0]!.intent.source, 'agent');
  assert.ok(intents.some((i) => i.intent.intentId === transfer.intentId));

  await waitFor(async () => (await history(url, `api:${agent}`)).body.messages.some((m) => m.kind === 'outcome' && m.intentId === denied.intentId), { timeoutMs: 30_000, what: 'the refusal in the history' });
  const { body: log } = await history(url, `api:${agent}`);
  const refusal = log.messages.find((m) => m.intentId === denied.intentId && m.direction === 'out')!;
  assert.match(refusal.text, /^Refused: call tool crypto\.mine/);
  assert.ok(log.messages.some((m) => m.kind === 'clarification'), 'the clarifying question is in the history');

  // Bad input: each refused with a code, nothing written.
  const code = async (response: Response) => ({ status: response.status, code: ((await response.json()) as { error: { code: string; details?: { paths?: string[] } } }).error });
  assert.deepEqual((await code(await post({ userId: agent, text: 'hi' }, { 'content-type': 'application/json' }))).status, 401);
  assert.equal((await code(await post({ userId: agent, text: 'hi' }, apiHeaders('wrong-key')))).code.code, 'SNT_UNAUTHENTICATED');
  assert.equal((await code(await post('{"userId": "x", "text": '))).code.code, 'SNT_MALFORMED_JSON');
  const unknownField = await code(await post({ userId: agent, text: 'hi', risk: 'low' }));
  assert.equal(unknownField.status, 400);
  assert.ok(unknownField.code.details!.paths!.includes('body/risk'), 'the caller cannot supply risk');
  const badCall = await code(await post({ userId: agent, toolCall: { tool: 'transfer', arguments: { amountMinor: -5, currency: 'USD', payee: 'X' } } }));
  assert.equal(badCall.status, 400);
  assert.ok(badCall.code.details!.paths!.includes('body/toolCall/arguments/amountMinor'), JSON.stringify(badCall));
  assert.equal((await code(await post({ userId: agent, text: 'x'.repeat(5000) }))).status, 413);
  const icq = await code(await post({ userId: agent, channel: 'icq', text: 'hi' }));
  assert.deepEqual([icq.status, icq.code.code], [404, 'SNT_CHANNEL_UNKNOWN']);
  assert.equal((await code(await post({ userId: agent, channel: 'telegram', conversationId: '42', text: 'hi' }))).code.code, 'SNT_CHANNEL_UNKNOWN', 'telegram is not enabled here');
  const webhook = await fetch(`${url}/telegram/webhook`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"update_id":1}' });
  assert.deepEqual([webhook.status, ((await webhook.json()) as { error: { code: string } }).error.code], [404, 'SNT_CHANNEL_UNKNOWN']);
  assert.equal((await history(url, 'no-such-conversation')).status, 404);
  assert.equal((await fetch(`${url}/api/conversations/x/messages`)).status, 401);

  assert.ok(await metric(url, 'sentinel_http_refusals_total', { code: 'SNT_UNAUTHENTICATED' }) >= 3);
  assert.ok(await metric(url, 'sentinel_http_refusals_total', { code: 'SNT_VALIDATION_FAILED' }) >= 2);
  assert.ok(await metric(url, 'sentinel_http_refusals_total', { code: 'SNT_PAYLOAD_TOO_LARGE' }) >= 1);
  assert.ok(await metric(url, 'sentinel_channels_webhook_refusals_total', { channel: 'telegram', code: 'SNT_CHANNEL_UNKNOWN' }) >= 1);
  const all = await intentsOf(bus, codec, 4, 1000);
  assert.deepEqual(new Set(all.map((i) => i.intent.intentId)), new Set([body.intentId, transfer.intentId, denied.intentId]), 'no intent from a refused request');

  // The page is served with its CSP and points at the WebSocket port actually bound.
  const page = await fetch(`${url}/`);
  assert.equal(page.status, 200);
  assert.match(page.headers.get('content-security-policy') ?? '', /default-src 'none'/);
  assert.match(await page.text(), /<meta name="sentinel-ws-url" content="ws:\/\/127\.0\.0\.1:\d+\/ws">/);
  assert.equal((await fetch(`${url}/api/health`)).status, 200);
  assert.equal((await fetch(`${url}/ready`)).status, 200);
});

test('web chat: a high-risk request prompts the approvers; an approver\'s answer goes to the signer with its evidence; others are refused; cards follow the updates', async (t) => {
  const config = await requireServices('kafka', 'registry', 'postgres', 'redis');
  const bus = await createTestBus(t, config);
  const codec = await bus.codec();
  const people = await writeTestIdentities(t);
  const env = { IDENTITY_LINKS_FILE: people.file, API_KEY: KEY };
  await startPolicyService(t, bus, { ...env, POSTGRES_DB: CHANNELS_TEST_DB });
  const { url, wsUrl } = await startChannelsService(t, bus, env);

  const alice = await WebChatClient.connect(t, wsUrl, people.alice.web);
  const carol = await WebChatClient.connect(t, wsUrl, people.carol.web);
  const erin = await WebChatClient.connect(t, wsUrl, people.erin.web);
  alice.send({ type: 'message', id: 'm1', text: 'transfer $5000 to Alice' });
  await alice.next('ack', (f) => f.id === 'm1');
  const waiting = await alice.next('reply', (f) => f.text.startsWith('Waiting for approval'));
  assert.match(waiting.text, /role:finance-approver/);
  const prompt = (await carol.next('prompt')).prompt;
  assert.equal(prompt.requester.userId, people.alice.userId);
  assert.equal(prompt.status, 'pending');
  assert.match(prompt.actionSummary, /transfer 5,000\.00 USD to Alice/);
  const [intent] = await intentsOf(bus, codec, 1);
  assert.equal(intent!.intent.intentId, prompt.intentId);
  assert.equal(intent!.intent.conversation.conversationId, people.alice.web);

  // erin is nobody's approver: refused with the reason, nothing reaches the signer.
  erin.send({ type: 'answer', id: 'a-erin', decisionId: prompt.decisionId, verdict: 'approve' });
  const refused = await erin.next('error', (f) => f.id === 'a-erin');
  assert.equal(refused.code, 'SNT_FORBIDDEN');
  assert.match(refused.message, /not an approver/);
  // An unknown decision is refused too.
  carol.send({ type: 'answer', id: 'a-x', decisionId: 'no-such-decision', verdict: 'approve' });
  assert.equal((await carol.next('error', (f) => f.id === 'a-x')).code, 'SNT_NOT_FOUND');

  carol.send({ type: 'answer', id: 'a1', decisionId: prompt.decisionId, verdict: 'approve' });
  await carol.next('ack', (f) => f.id === 'a1');
  const [answer] = await responsesOf(bus, codec, 1);
  const r = answer!.response;
  assert.equal(answer!.record.key?.toString(), prompt.decisionId);
  assert.equal(answer!.record.headers['x-trace-id'], intent!.record.headers['x-trace-id'], 'the answer continues the request\'s trace');
  assert.deepEqual(r.approver, { userId: people.carol.userId, channel: 'web', channelUserId: people.carol.web, displayName: people.carol.displayName });
  assert.equal(r.verdict, 'approve');
  assert.equal(r.intentId, prompt.intentId);
  assert.equal(r.evidence.platform, 'web');
  assert.equal(r.evidence.authenticatedBy, 'webchat-dev-signin');
  assert.equal(r.evidence.platformUserId, people.carol.web);
  assert.match(r.evidence.callbackDigest ?? '', /^sha256:[0-9a-f]{64}$/);
  assert.ok(await metric(url, 'sentinel_channels_approval_answers_total', { result: 'not_an_approver' }) >= 1);
  assert.ok(await metric(url, 'sentinel_channels_webchat_refusals_total', { code: 'SNT_FORBIDDEN' }) >= 1);

  // bob, the other approver, was away: the open prompt is handed over when he signs in.
  const bob = await WebChatClient.connect(t, wsUrl, people.bob.web);
  assert.equal((await bob.next('prompt')).prompt.decisionId, prompt.decisionId);

  // The signer's update (sent to the approver role, twice as a redelivery would): every card
  // changes once; the requester's notice arrives once.
  const decided = { ...prompt, deadline: Date.parse(prompt.deadline), requester: { userId: prompt.requester.userId, channel: 'web' as const, channelUserId: people.alice.web, displayName: prompt.requester.displayName }, status: 'approved' as const, decidedBy: people.carol.displayName };
  const update: ChannelReply = {
    replyId: `upd-${randomBytes(4).toString('hex')}`, conversation: { channel: 'web', conversationId: people.alice.web }, intentId: prompt.intentId,
    recipientUserId: 'role:finance-approver', kind: 'approval_update', text: `Approved by ${people.carol.displayName}`, prompt: decided,
  };
  const notice: ChannelReply = { ...update, replyId: `notice-${randomBytes(4).toString('hex')}`, recipientUserId: null, kind: 'info', text: 'Approved; it will run now.', prompt: null };
  await publishReply(bus, codec, update);
  await publishReply(bus, codec, update);
  await publishReply(bus, codec, notice);
  await alice.next('reply', (f) => f.text === 'Approved; it will run now.');
  const carolUpdate = await carol.next('prompt-update');
  assert.equal(carolUpdate.prompt.status, 'approved');
  assert.equal(carolUpdate.prompt.decidedBy, people.carol.displayName);
  await bob.next('prompt-update');
  assert.equal(carol.of('prompt-update').length, 1, 'a redelivered reply is not delivered twice');
  assert.equal(alice.of('reply').filter((f) => f.text === 'Approved; it will run now.').length, 1);
  // Answers after the decision are refused.
  bob.send({ type: 'answer', id: 'late', decisionId: prompt.decisionId, verdict: 'deny' });
  assert.equal((await bob.next('error', (f) => f.id === 'late')).code, 'SNT_CONFLICT');
  assert.equal((await responsesOf(bus, codec, 1, 1000)).length, 1, 'one answer reached the signer');
  const { body: log } = await history(url, people.alice.web, 'web');
  assert.ok(log.messages.some((m) => m.direction === 'in' && m.text === 'transfer $5000 to Alice'));
});

test('web chat across replicas: the replica holding the socket delivers; replies for someone away wait and are handed over at sign-in', async (t) => {
  const config = await requireServices('kafka', 'registry', 'postgres', 'redis');
  const bus = await createTestBus(t, config);
  const people = await writeTestIdentities(t);
  const shared = { IDENTITY_LINKS_FILE: people.file, API_KEY: KEY, REDIS_KEY_PREFIX: `test:${randomBytes(4).toString('hex')}:` };
  const a = await startChannelsService(t, bus, { ...shared, INSTANCE_ID: 'channels-a' });
  const b = await startChannelsService(t, bus, { ...shared, INSTANCE_ID: 'channels-b' });
  const alice = await WebChatClient.connect(t, a.wsUrl, people.alice.web);
  const reply = (to: string, text: string): ChannelReply => ({
    replyId: `r-${randomBytes(6).toString('hex')}`, conversation: { channel: 'web', conversationId: to }, intentId: null, recipientUserId: null, kind: 'outcome', text, prompt: null,
  });
  // B consumes a reply for alice, whose socket is on A.
  const forAlice = reply(people.alice.web, 'Done: for alice via B');
  await b.service.deliverer.handleReply(forAlice, { traceId: null, spanId: null });
  await alice.next('reply', (f) => f.text === 'Done: for alice via B');
  await waitFor(async () => (await a.service.store.messages('web', people.alice.web, 0, 10)).find((m) => m.text === 'Done: for alice via B')?.deliveries?.[0]?.status === 'delivered', { what: 'the delivery marked delivered by A' });

  // dave is connected nowhere: the reply waits, then A hands it over when he signs in there.
  const forDave = reply(people.dave.web, 'Done: for dave while away');
  await b.service.deliverer.handleReply(forDave, { traceId: null, spanId: null });
  const rows = await b.service.store.messages('web', people.dave.web, 0, 10);
  assert.equal(rows[0]!.deliveries![0]!.status, 'waiting');
  const dave = await WebChatClient.connect(t, a.wsUrl, people.dave.web);
  await dave.next('reply', (f) => f.text === 'Done: for dave while away');
  // Signing in again elsewhere does not repeat it.
  const daveOnB = await WebChatClient.connect(t, b.wsUrl, people.dave.web);
  await b.service.deliverer.handleReply(reply(people.dave.web, 'Second'), { traceId: null, spanId: null });
  await daveOnB.next('reply', (f) => f.text === 'Second');
  await dave.next('reply', (f) => f.text === 'Second');
  assert.equal(daveOnB.of('reply').filter((f) => f.text === 'Done: for dave while away').length, 0);
  assert.equal(dave.of('reply').filter((f) => f.text === 'Second').length, 1);
  // Presence is in Redis: both replicas are listed for dave.
  assert.deepEqual(new Set(await a.service.sessions.holders(people.dave.web)), new Set(['channels-a', 'channels-b']));
  daveOnB.close();
  await waitFor(async () => (await a.service.sessions.holders(people.dave.web)).length === 1, { what: 'B to leave dave\'s presence' });
});

test('approval deadlines: an unanswered prompt expires as exactly one "expired" answer, across two replicas', async (t) => {
  const config = await requireServices('kafka', 'registry', 'postgres', 'redis');
  const bus = await createTestBus(t, config);
  const codec = await bus.codec();
  const people = await writeTestIdentities(t);
  const rules = await writeTestConstitution(t, { finance: '3s' });
  const shared = { IDENTITY_LINKS_FILE: people.file, API_KEY: KEY, REDIS_KEY_PREFIX: `test:${randomBytes(4).toString('hex')}:` };
  await startPolicyService(t, bus, { ...shared, POSTGRES_DB: CHANNELS_TEST_DB }, { ruleSet: await loadRuleSet(rules) });
  const a = await startChannelsService(t, bus, { ...shared, INSTANCE_ID: 'channels-a' }, { schedulerIntervalMs: 50 });
  const b = await startChannelsService(t, bus, { ...shared, INSTANCE_ID: 'channels-b' }, { schedulerIntervalMs: 50 });
  const requests = 4;
  const intentIds: string[] = [];
  for (let i = 0; i < requests; i++) {
    const response = await fetch(`${a.url}/api/message`, { method: 'POST', headers: apiHeaders(KEY), body: JSON.stringify({ userId: `${people.alice.userId}-agent`, text: `transfer $${2000 + i} to Payee${i}` }) });
    assert.equal(response.status, 202);
    intentIds.push(((await response.json()) as { intentId: string }).intentId);
  }
  const expired = await responsesOf(bus, codec, requests, 2000);
  assert.equal(expired.length, requests, `exactly one expiry per decision (${expired.map((e) => e.response.decisionId).join(', ')})`);
  assert.deepEqual(new Set(expired.map((e) => e.response.intentId)), new Set(intentIds));
  for (const { response, record } of expired) {
    assert.equal(response.verdict, 'expired');
    assert.equal(record.key?.toString(), response.decisionId);
    assert.ok(response.respondedAt >= response.evidence.receivedAt);
  }
  const count = (await metric(a.url, 'sentinel_channels_approvals_expired_total', {})) + (await metric(b.url, 'sentinel_channels_approvals_expired_total', {}));
  assert.equal(count, requests);
  // Too late to answer now.
  const decisionId = expired[0]!.response.decisionId;
  const carol = await WebChatClient.connect(t, a.wsUrl, people.carol.web);
  carol.send({ type: 'answer', id: 'late', decisionId, verdict: 'approve' });
  assert.equal((await carol.next('error', (f) => f.id === 'late')).code, 'SNT_CONFLICT');
});

test('platform deliveries: a transient failure is retried until it succeeds; a permanent one is recorded as failed and counted', async (t) => {
  const config = await requireServices('kafka', 'registry', 'postgres', 'redis');
  const bus = await createTestBus(t, config);
  const codec = await bus.codec();
  const people = await writeTestIdentities(t);
  const token = `${randomInt(1000, 9999)}:TEST-token_${randomBytes(4).toString('hex')}`;
  const fake = await FakeTelegram.start({ token });
  const { url, service } = await closingOnFailure(fake, () => startChannelsService(t, bus, {
    IDENTITY_LINKS_FILE: people.file, API_KEY: KEY, TELEGRAM_BOT_TOKEN: token, TELEGRAM_API_ROOT: fake.apiRoot,
  }, { retryBaseMs: 200 }));
  t.after(() => fake.close()); // after the service's cleanup: the adapter stops first
  const alice = { id: people.alice.telegram, first_name: 'Alice', username: 'alice' };
  const chat = String(alice.id);

  // A greeting gets the help text (a reply the channels service sends itself).
  await fake.sendUserMessage({ from: alice, text: 'hi there' });
  await waitFor(() => fake.sentMessages.some((m) => m.chatId === alice.id && /I can move money/.test(m.text)), { what: 'the help text' });

  // Telegram answers 500 for a while: the reply is retried, and arrives once it recovers.
  fake.failSendsWith = 500;
  const transient: ChannelReply = { replyId: `r-${randomBytes(6).toString('hex')}`, conversation: { channel: 'telegram', conversationId: chat }, intentId: null, recipientUserId: null, kind: 'outcome', text: 'Done: after a retry', prompt: null };
  await publishReply(bus, codec, transient);
  await waitFor(async () => (await service.store.messages('telegram', chat, 0, 50)).find((m) => m.replyId === transient.replyId)?.deliveries?.[0]?.status === 'retry', { what: 'the delivery waiting for a retry' });
  fake.failSendsWith = null;
  await waitFor(() => fake.sentMessages.some((m) => m.text === 'Done: after a retry'), { timeoutMs: 30_000, what: 'the retried reply' });
  const retried = (await service.store.messages('telegram', chat, 0, 50)).find((m) => m.replyId === transient.replyId)!;
  await waitFor(async () => (await service.store.messages('telegram', chat, 0, 50)).find((m) => m.replyId === transient.replyId)?.deliveries?.[0]?.status === 'delivered', { what: 'delivered' });
  assert.ok(retried.deliveries![0]!.attempts >= 1);
  assert.equal(fake.sentMessages.filter((m) => m.text === 'Done: after a retry').length, 1);
  assert.ok(await metric(url, 'sentinel_channels_deliveries_total', { channel: 'telegram', status: 'retry' }) >= 1);

  // A chat the bot cannot write to: Telegram's 400 is permanent, recorded with the reason and counted.
  const unknownChat = String(randomInt(3_000_000_000, 4_000_000_000));
  const permanent: ChannelReply = { ...transient, replyId: `r-${randomBytes(6).toString('hex')}`, conversation: { channel: 'telegram', conversationId: unknownChat }, text: 'nobody reads this' };
  await publishReply(bus, codec, permanent);
  const failed = await waitFor(async () => {
    const m = (await service.store.messages('telegram', unknownChat, 0, 10)).find((x) => x.replyId === permanent.replyId);
    return m?.deliveries?.[0]?.status === 'failed' ? m.deliveries[0] : undefined;
  }, { timeoutMs: 30_000, what: 'the failed delivery' });
  assert.match(failed.error ?? '', /chat not found/);
  assert.equal(failed.attempts, 1, 'a permanent failure is not retried');
  assert.ok(await metric(url, 'sentinel_channels_deliveries_total', { channel: 'telegram', status: 'failed' }) >= 1);
});

test('web chat sign-in in production: a signed token is required (WEBCHAT_SESSION_SECRET); other origins cannot open the socket', async (t) => {
  const config = await requireServices('kafka', 'registry', 'postgres', 'redis');
  const bus = await createTestBus(t, config);
  const people = await writeTestIdentities(t);
  const secret = randomBytes(24).toString('hex');
  const { wsUrl } = await startChannelsService(t, bus, {
    IDENTITY_LINKS_FILE: people.file, API_KEY: KEY, NODE_ENV: 'production', WEBCHAT_SESSION_SECRET: secret, WEBCHAT_ALLOWED_ORIGINS: 'https://chat.example',
  });
  const open = async (token?: string) => {
    const socket = new WebSocket(wsUrl, { headers: { origin: 'https://chat.example' } });
    t.after(() => socket.terminate());
    const frames: Array<{ type: string; code?: string }> = [];
    socket.on('message', (data) => frames.push(JSON.parse(String(data)) as { type: string; code?: string }));
    await new Promise((resolve, reject) => { socket.once('open', resolve); socket.once('error', reject); });
    socket.send(JSON.stringify({ type: 'hello', protocol: 1, userId: people.carol.web, ...(token ? { token } : {}) }));
    return waitFor(() => frames.find((f) => f.type === 'welcome' || f.type === 'error'), { what: 'the answer to hello' });
  };
  assert.deepEqual(await open(), { type: 'error', code: 'SNT_UNAUTHENTICATED', message: 'sign-in refused' });
  assert.equal((await open(mintWebchatToken('another-secret', people.carol.web, Date.now() + 60_000))).type, 'error');
  assert.equal((await open(mintWebchatToken(secret, people.carol.web, Date.now() - 1000))).type, 'error', 'expired');
  assert.equal((await open(mintWebchatToken(secret, people.carol.web, Date.now() + 60_000))).type, 'welcome');
  const foreign = new WebSocket(wsUrl, { headers: { origin: 'https://evil.example' } });
  foreign.on('error', () => {}); // the refused upgrade
  const refused = await new Promise<string>((resolve) => { foreign.once('unexpected-response', (_req, res) => resolve(String(res.statusCode))); foreign.once('open', () => resolve('open')); });
  assert.equal(refused, '403');
});
