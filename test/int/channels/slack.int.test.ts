// The Slack adapter with the real @slack/bolt app and web-api client against a local fake of
// Slack's Web API, signed Request URL callbacks and Socket Mode, over real HTTP/WebSocket on
// 127.0.0.1.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { once } from 'node:events';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { test } from 'node:test';
import { createWebhookListener } from '../../../src/channels/adapters/common.ts';
import { createSlackAdapter } from '../../../src/channels/adapters/slack.ts';
import type { AdapterHandlers, ApprovalAnswer, InboundMessage, PromptRef } from '../../../src/channels/types.ts';
import type { ApprovalPrompt } from '../../../src/domain/types.ts';
import { isSentinelError } from '../../../src/errors/index.ts';
import { FakeSlack } from '../../support/fakes/slack.ts';

const BOT_TOKEN = 'xoxb-1-fake-bot-token';
const APP_TOKEN = 'xapp-1-fake-app-token';
const SIGNING_SECRET = '8f742231b10e8888abcd99yyyzzz85a5';
const ALICE = 'U0ALICE001';
const CAROL = 'U0CAROL003';

/** Cleanups run last-registered first (node:test runs t.after hooks in registration order). */
function deferrer(t: { after(fn: () => Promise<void>): void }): (fn: () => unknown) => void {
  const fns: Array<() => unknown> = [];
  t.after(async () => {
    for (const fn of fns.reverse()) await fn();
  });
  return (fn) => void fns.push(fn);
}

function recorder() {
  const messages: InboundMessage[] = [];
  const answers: ApprovalAnswer[] = [];
  const handlers: AdapterHandlers = {
    async onMessage(m) { messages.push(m); },
    async onApprovalAnswer(a) { answers.push(a); },
  };
  async function until(cond: () => boolean, what: string, timeoutMs = 5000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!cond()) {
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
  }
  return { messages, answers, handlers, until };
}

function prompt(overrides: Partial<ApprovalPrompt> = {}): ApprovalPrompt {
  return {
    decisionId: 'dec-s1', intentId: 'int-1',
    requester: { userId: 'alice', channel: 'slack', channelUserId: ALICE, displayName: 'Alice Adams' },
    actionSummary: 'Transfer 5,000.00 USD to <!channel> & friends', riskTier: 'high', reason: 'Amount above the automatic limit',
    deadline: Date.UTC(2025, 10, 25, 20, 0, 0), approvers: ['role:treasury'], requiredApprovals: 1, status: 'pending', decidedBy: null,
    ...overrides,
  };
}

async function listen(): Promise<{ server: ReturnType<typeof createServer>; base: string }> {
  const server = createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return { server, base: `http://127.0.0.1:${(server.address() as AddressInfo).port}` };
}

test('slack adapter over HTTP: signed events, Block Kit prompts, button presses, slash commands', async (t) => {
  const defer = deferrer(t);
  const fake = await FakeSlack.start({ botToken: BOT_TOKEN });
  defer(() => fake.close());
  const { server, base } = await listen();
  defer(() => {
    server.closeAllConnections();
    server.close();
  });
  fake.app = { requestUrl: `${base}/slack/events`, signingSecret: SIGNING_SECRET };
  const adapter = createSlackAdapter({ botToken: BOT_TOKEN, signingSecret: SIGNING_SECRET, apiRoot: fake.apiRoot, maxBodyBytes: 16 * 1024 });
  const listener = createWebhookListener(adapter.webhooks);
  server.on('request', (req, res) => void listener(req, res).then((handled) => { if (!handled) res.writeHead(404).end(); }));
  const rec = recorder();
  await adapter.start(rec.handlers);
  defer(() => adapter.stop());

  await t.test('start verified the bot token with auth.test', () => {
    assert.ok(fake.calls.some((c) => c.method === 'auth.test' && c.ok));
  });

  await t.test('the Request URL answers Slack\'s url_verification challenge', async () => {
    const response = await fake.urlVerification('3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P');
    assert.equal(response.status, 200);
    assert.deepEqual(JSON.parse(response.body), { challenge: '3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P' });
  });

  await t.test('a direct message reaches onMessage', async () => {
    const sent = await fake.sendDirectMessage({ user: ALICE, text: 'transfer $5000 to Bob' });
    assert.equal(sent.status, 200);
    await rec.until(() => rec.messages.length === 1, 'the DM');
    assert.deepEqual({ ...rec.messages[0], receivedAt: 0 }, {
      channel: 'slack', conversationId: sent.channel, channelUserId: ALICE, displayName: null, text: 'transfer $5000 to Bob',
      platformMessageId: sent.ts, authenticatedBy: 'slack-signing-secret', receivedAt: 0,
    });
  });

  await t.test('an @mention in a channel reaches onMessage without the mention', async () => {
    const sent = await fake.mentionBot({ user: ALICE, text: 'run uptime on web-2' });
    await rec.until(() => rec.messages.length === 2, 'the mention');
    assert.equal(rec.messages[1]!.text, 'run uptime on web-2');
    assert.equal(rec.messages[1]!.conversationId, fake.generalChannel);
    assert.equal(rec.messages[1]!.platformMessageId, sent.ts);
  });

  let promptRef: PromptRef = { channel: 'slack', conversationId: '', messageId: '', decisionId: '' };
  await t.test('sendPrompt opens a DM with the approver and posts Block Kit with Approve / Deny', async () => {
    promptRef = await adapter.sendPrompt({ kind: 'user', channelUserId: CAROL }, prompt());
    assert.equal(promptRef.conversationId, fake.dmOf(CAROL));
    const message = fake.message(promptRef.conversationId, promptRef.messageId)!;
    const actions = message.blocks!.find((b) => b.type === 'actions') as { block_id: string; elements: Array<Record<string, unknown>> };
    assert.equal(actions.block_id, 'apv:dec-s1');
    assert.deepEqual(actions.elements.map((e) => [e.action_id, e.value, e.style]), [
      ['apv_approve', 'apv:dec-s1:approve', 'primary'],
      ['apv_deny', 'apv:dec-s1:deny', 'danger'],
    ]);
    assert.ok(actions.elements[0]!.confirm, 'approving a high-risk action asks for confirmation');
    assert.match(JSON.stringify(message.blocks), /&lt;!channel&gt; &amp; friends/, 'mrkdwn from the request is escaped');
    assert.match(message.text, /Approval needed \(high risk\)/);
  });

  await t.test('a signed button press becomes an ApprovalAnswer, acknowledged, with an ephemeral receipt', async () => {
    const delivery = await fake.pressButton({ user: CAROL, userName: 'carol', channel: promptRef.conversationId, ts: promptRef.messageId, actionId: 'apv_approve' });
    assert.equal(delivery.status, 200);
    assert.equal(rec.answers.length, 1, 'recorded before Slack got its acknowledgement');
    const answer = rec.answers[0]!;
    assert.deepEqual({ ...answer, receivedAt: 0 }, {
      decisionId: 'dec-s1', verdict: 'approve', platform: 'slack', platformUserId: CAROL, displayName: 'carol',
      conversationId: promptRef.conversationId, platformMessageId: promptRef.messageId, authenticatedBy: 'slack-signing-secret',
      callbackDigest: `sha256:${createHash('sha256').update(delivery.rawBody).digest('hex')}`, receivedAt: 0,
    });
    await fake.waitForCall('chat.postEphemeral');
    assert.match(fake.ephemerals.at(-1)!.text, /approval of dec-s1 was received/);
  });

  await t.test('/deny ID as a slash command answers, with an ephemeral response', async () => {
    const delivery = await fake.slashCommand({ user: CAROL, channel: fake.generalChannel, command: '/deny', text: 'dec-s1' });
    assert.equal(delivery.status, 200);
    assert.deepEqual(JSON.parse(delivery.body), { response_type: 'ephemeral', text: 'Your denial of dec-s1 was received.' });
    assert.equal(rec.answers[1]!.verdict, 'deny');
    assert.equal(rec.answers[1]!.platformMessageId, null);
    const usage = await fake.slashCommand({ user: CAROL, channel: fake.generalChannel, command: '/approve', text: '' });
    assert.match(JSON.parse(usage.body).text, /Usage: \/approve/);
    assert.equal(rec.answers.length, 2);
  });

  await t.test('forged, re-signed with another secret, replayed and unsigned callbacks are refused', async () => {
    const body = new URLSearchParams({ payload: JSON.stringify({ type: 'block_actions', user: { id: CAROL }, actions: [{ action_id: 'apv_approve', value: 'apv:dec-s1:approve' }] }) }).toString();
    const form = 'application/x-www-form-urlencoded';
    const attempts: Array<[Parameters<FakeSlack['signedPost']>[2], string]> = [
      [{ secret: 'another-secret' }, 'SNT_CHANNEL_FORGED_CALLBACK'],
      [{ signature: null }, 'SNT_CHANNEL_FORGED_CALLBACK'],
      [{ signature: 'v0=deadbeef' }, 'SNT_CHANNEL_FORGED_CALLBACK'],
      [{ body: body.replace('approve', 'deny') }, 'SNT_CHANNEL_FORGED_CALLBACK'],
      [{ timestamp: Math.floor(Date.now() / 1000) - 6 * 60 }, 'SNT_CHANNEL_STALE_CALLBACK'],
      [{ timestamp: Math.floor(Date.now() / 1000) + 6 * 60 }, 'SNT_CHANNEL_STALE_CALLBACK'],
    ];
    for (const [tamper, code] of attempts) {
      const response = await fake.signedPost(body, form, tamper);
      assert.equal(response.status, 401, JSON.stringify(tamper));
      assert.equal(JSON.parse(response.body).error.code, code);
    }
    assert.equal(rec.answers.length, 2);
  });

  await t.test('signed but unreadable or oversized bodies are refused with clear codes', async () => {
    const unreadable = await fake.signedPost('{"type": "event_callback",', 'application/json');
    assert.equal(unreadable.status, 400);
    assert.equal(JSON.parse(unreadable.body).error.code, 'SNT_VALIDATION_FAILED');
    const oversized = await fake.signedPost(JSON.stringify({ type: 'event_callback', pad: 'x'.repeat(20_000) }), 'application/json');
    assert.equal(oversized.status, 413);
  });

  await t.test('updatePrompt calls chat.update: the outcome replaces the buttons', async () => {
    await adapter.updatePrompt(promptRef, prompt({ status: 'approved', decidedBy: 'carol' }));
    const message = fake.message(promptRef.conversationId, promptRef.messageId)!;
    assert.equal(message.history.length, 1);
    assert.ok(!message.blocks!.some((b) => b.type === 'actions'));
    assert.match(JSON.stringify(message.blocks), /✅ Approved by carol/);
  });

  await t.test('Slack errors surface as SNT_CHANNEL_DELIVERY_FAILED', async () => {
    await assert.rejects(
      adapter.sendText({ kind: 'conversation', conversationId: 'C0NOWHERE1' }, 'hi'),
      (error: unknown) => isSentinelError(error, 'SNT_CHANNEL_DELIVERY_FAILED') && /channel_not_found/.test(error.message),
    );
  });
});

test('slack adapter in Socket Mode: the same listeners over the app-level WebSocket', async (t) => {
  const defer = deferrer(t);
  const fake = await FakeSlack.start({ botToken: BOT_TOKEN, appToken: APP_TOKEN });
  defer(() => fake.close());
  const adapter = createSlackAdapter({ botToken: BOT_TOKEN, appToken: APP_TOKEN, apiRoot: fake.apiRoot });
  assert.equal(adapter.webhooks.length, 0, 'no Request URL in Socket Mode');
  const rec = recorder();
  await adapter.start(rec.handlers);
  defer(() => adapter.stop());
  assert.equal(fake.socketConnections, 1);

  const sent = await fake.sendDirectMessage({ user: ALICE, text: 'email the report to bob@example.com' });
  await rec.until(() => rec.messages.length === 1, 'the DM over Socket Mode');
  assert.equal(rec.messages[0]!.authenticatedBy, 'slack-socket-mode');
  assert.equal(rec.messages[0]!.platformMessageId, sent.ts);

  const ref = await adapter.sendPrompt({ kind: 'conversation', conversationId: fake.dmOf(CAROL) }, prompt({ riskTier: 'low' }));
  const press = await fake.pressButton({ user: CAROL, channel: ref.conversationId, ts: ref.messageId, actionId: 'apv_deny' });
  assert.equal(rec.answers.length, 1);
  assert.equal(rec.answers[0]!.verdict, 'deny');
  assert.equal(rec.answers[0]!.authenticatedBy, 'slack-socket-mode');
  assert.match(rec.answers[0]!.callbackDigest, /^sha256:[0-9a-f]{64}$/);
  assert.ok(press.body !== undefined, 'the envelope was acknowledged');
});

test('slack adapter refuses to start with a bot token Slack rejects', async (t) => {
  const defer = deferrer(t);
  const fake = await FakeSlack.start({ botToken: BOT_TOKEN });
  defer(() => fake.close());
  const adapter = createSlackAdapter({ botToken: 'xoxb-wrong', signingSecret: SIGNING_SECRET, apiRoot: fake.apiRoot });
  await assert.rejects(adapter.start(recorder().handlers), /invalid_auth/);
});

test('slack adapter configuration errors are caught at construction', () => {
  assert.throws(() => createSlackAdapter({ botToken: '' }), /SLACK_BOT_TOKEN/);
  assert.throws(() => createSlackAdapter({ botToken: BOT_TOKEN }), /SLACK_SIGNING_SECRET/);
});
