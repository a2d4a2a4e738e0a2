// The Discord adapter with the real discord.js client against a local fake of Discord's REST API,
// gateway (WebSocket) and signed interaction webhooks, over real HTTP/WebSocket on 127.0.0.1.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { once } from 'node:events';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { test } from 'node:test';
import { GatewayIntentBits } from 'discord.js';
import { createWebhookListener } from '../../../src/channels/adapters/common.ts';
import { createDiscordAdapter } from '../../../src/channels/adapters/discord.ts';
import type { AdapterHandlers, ApprovalAnswer, InboundMessage } from '../../../src/channels/types.ts';
import type { ApprovalPrompt } from '../../../src/domain/types.ts';
import { isSentinelError } from '../../../src/errors/index.ts';
import { FakeDiscord } from '../../support/fakes/discord.ts';

const TOKEN = 'MTAw.fake.discord-token';
const ALICE = { id: '300000000000000001', username: 'alice', global_name: 'Alice Adams' };
const CAROL = { id: '300000000000000003', username: 'carol', global_name: 'Carol Chen' };

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
    decisionId: 'dec-d1', intentId: 'int-1',
    requester: { userId: 'alice', channel: 'discord', channelUserId: ALICE.id, displayName: 'Alice Adams' },
    actionSummary: 'Run `rm -rf /tmp/cache` on build-01 @everyone', riskTier: 'medium', reason: 'Commands on build hosts need an operator',
    deadline: Date.UTC(2025, 10, 25, 20, 0, 0), approvers: ['role:ops'], requiredApprovals: 1, status: 'pending', decidedBy: null,
    ...overrides,
  };
}

test('discord adapter: gateway messages, prompts with components, signed interactions, edits', async (t) => {
  const defer = deferrer(t);
  const fake = await FakeDiscord.start({ token: TOKEN });
  defer(() => fake.close());
  const server = createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  defer(() => {
    server.closeAllConnections();
    server.close();
  });
  const endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}/discord/interactions`;
  let now = Date.now();
  const adapter = createDiscordAdapter({ token: TOKEN, publicKey: fake.publicKeyHex, apiRoot: fake.apiRoot, clock: () => now, maxBodyBytes: 8192 });
  const listener = createWebhookListener(adapter.webhooks);
  server.on('request', (req, res) => void listener(req, res).then((handled) => { if (!handled) res.writeHead(404).end(); }));
  const rec = recorder();
  await adapter.start(rec.handlers);
  defer(() => adapter.stop());

  await t.test('the bot identifies with the intents it needs, including MESSAGE_CONTENT', () => {
    const intents = fake.identify?.intents ?? 0;
    for (const bit of [GatewayIntentBits.Guilds, GatewayIntentBits.GuildMessages, GatewayIntentBits.DirectMessages, GatewayIntentBits.MessageContent]) {
      assert.equal(intents & bit, bit);
    }
  });

  await t.test('a direct message reaches onMessage', async () => {
    const sent = fake.sendUserMessage({ author: ALICE, content: 'transfer $5000 to Bob', dm: true });
    await rec.until(() => rec.messages.length === 1, 'the DM');
    assert.deepEqual(rec.messages[0], {
      channel: 'discord', conversationId: sent.channel_id, channelUserId: ALICE.id, displayName: 'Alice Adams',
      text: 'transfer $5000 to Bob', platformMessageId: sent.id, authenticatedBy: 'discord-gateway', receivedAt: now,
    });
  });

  await t.test('in a guild channel only messages that mention the bot are taken, without the mention', async () => {
    fake.sendUserMessage({ author: ALICE, content: 'just chatting with friends' });
    const addressed = fake.sendUserMessage({ author: ALICE, content: `<@${fake.botUser.id}> run uptime on web-2` });
    await rec.until(() => rec.messages.length === 2, 'the mention');
    assert.equal(rec.messages[1]!.text, 'run uptime on web-2');
    assert.equal(rec.messages[1]!.platformMessageId, addressed.id);
    assert.equal(rec.messages[1]!.conversationId, fake.guildChannelId);
  });

  await t.test('sendText posts to the channel with mentions disabled', async () => {
    const ref = await adapter.sendText({ kind: 'conversation', conversationId: fake.guildChannelId }, 'Done @everyone');
    const message = fake.message(ref.messageId)!;
    assert.equal(message.content, 'Done @everyone');
    assert.deepEqual(message.allowed_mentions, { parse: [] });
  });

  let promptId = '';
  let dmChannel = '';
  await t.test('sendPrompt to an approver opens a DM and posts an embed with Approve / Deny buttons', async () => {
    fake.registerUser(CAROL);
    const ref = await adapter.sendPrompt({ kind: 'user', channelUserId: CAROL.id }, prompt());
    dmChannel = fake.dmChannelOf(CAROL.id)!;
    assert.equal(ref.conversationId, dmChannel);
    promptId = ref.messageId;
    const message = fake.message(promptId)!;
    assert.deepEqual(message.components, [{
      type: 1,
      components: [
        { type: 2, style: 3, label: 'Approve', custom_id: 'apv:dec-d1:approve' },
        { type: 2, style: 4, label: 'Deny', custom_id: 'apv:dec-d1:deny' },
      ],
    }]);
    const embed = message.embeds[0] as { description: string; fields: Array<{ name: string; value: string }> };
    assert.equal(embed.description, '**Action:** Run \\`rm -rf /tmp/cache\\` on build-01 @everyone', 'markdown from the request is escaped');
    assert.deepEqual(message.allowed_mentions, { parse: [] });
  });

  await t.test('a PING from Discord is answered with PONG', async () => {
    const pong = await fake.ping(endpoint);
    assert.equal(pong.status, 200);
    assert.deepEqual(pong.body, { type: 1 });
  });

  await t.test('a signed button interaction becomes an ApprovalAnswer and gets an ephemeral receipt', async () => {
    const interaction = fake.buttonInteraction({ user: CAROL, messageId: promptId, customId: 'apv:dec-d1:approve' });
    const response = await fake.postInteraction(endpoint, interaction);
    assert.equal(response.status, 200);
    assert.deepEqual(response.body, {
      type: 4,
      data: { content: 'Your approval of dec-d1 was received; the card updates once it is confirmed.', flags: 64, allowed_mentions: { parse: [] } },
    });
    assert.equal(rec.answers.length, 1);
    assert.deepEqual(rec.answers[0], {
      decisionId: 'dec-d1', verdict: 'approve', platform: 'discord', platformUserId: CAROL.id, displayName: 'Carol Chen',
      conversationId: dmChannel, platformMessageId: promptId, authenticatedBy: 'discord-ed25519',
      callbackDigest: `sha256:${createHash('sha256').update(response.rawBody).digest('hex')}`, receivedAt: now,
    });
  });

  await t.test('forged, tampered, unsigned and stale interactions are refused and change nothing', async () => {
    const interaction = fake.buttonInteraction({ user: CAROL, messageId: promptId, customId: 'apv:dec-d1:approve' });
    const body = JSON.stringify(interaction);
    const attempts = [
      { tamper: { body: body.replace('apv:dec-d1:approve', 'apv:dec-d2:approve') }, code: 'SNT_CHANNEL_FORGED_CALLBACK' },
      { tamper: { signature: null }, code: 'SNT_CHANNEL_FORGED_CALLBACK' },
      { tamper: { signature: '00'.repeat(64) }, code: 'SNT_CHANNEL_FORGED_CALLBACK' },
      { tamper: { signature: 'not-hex' }, code: 'SNT_CHANNEL_FORGED_CALLBACK' },
      { tamper: { signedAt: now - 10 * 60_000 }, code: 'SNT_CHANNEL_STALE_CALLBACK' },
    ];
    for (const { tamper, code } of attempts) {
      const response = await fake.postInteraction(endpoint, interaction, tamper);
      assert.equal(response.status, 401, JSON.stringify(tamper));
      assert.equal((response.body as { error: { code: string } }).error.code, code);
    }
    assert.equal(rec.answers.length, 1);
  });

  await t.test('signed but malformed, shapeless or oversized bodies are refused; an unknown button gets a polite no', async () => {
    const code = (r: { body: unknown }) => (r.body as { error: { code: string } }).error.code;
    const malformed = await fake.postSigned(endpoint, '{"type": 3,');
    assert.equal(malformed.status, 400);
    assert.equal(code(malformed), 'SNT_MALFORMED_JSON');
    const shapeless = await fake.postSigned(endpoint, '[3]');
    assert.equal(shapeless.status, 400);
    assert.equal(code(shapeless), 'SNT_VALIDATION_FAILED');
    const oversized = await fake.postSigned(endpoint, JSON.stringify({ type: 3, padding: 'x'.repeat(9000) }));
    assert.equal(oversized.status, 413);
    assert.equal(code(oversized), 'SNT_PAYLOAD_TOO_LARGE');
    const unknown = await fake.postInteraction(endpoint, fake.buttonInteraction({ user: CAROL, messageId: promptId, customId: 'something-else' }));
    assert.equal(unknown.status, 200);
    assert.match(JSON.stringify(unknown.body), /not one I handle/);
    assert.equal(rec.answers.length, 1);
  });

  await t.test('a button pressed over the gateway is answered through the interaction callback', async () => {
    const interaction = fake.buttonInteraction({ user: CAROL, messageId: promptId, customId: 'apv:dec-d1:deny' });
    fake.dispatchInteraction(interaction);
    await rec.until(() => rec.answers.length === 2, 'the gateway answer');
    const answer = rec.answers[1]!;
    assert.equal(answer.verdict, 'deny');
    assert.equal(answer.authenticatedBy, 'discord-gateway');
    assert.equal(answer.platformMessageId, promptId);
    assert.match(answer.callbackDigest, /^sha256:[0-9a-f]{64}$/);
    const call = await fake.waitForCall((c) => c.path === `/interactions/${String(interaction.id)}/${String(interaction.token)}/callback`);
    assert.deepEqual((call.body as { type: number; data: { flags: number } }).type, 4);
    assert.equal((call.body as { data: { flags: number } }).data.flags, 64);
  });

  await t.test('a /deny text command in a guild channel is an answer even without a mention', async () => {
    const sent = fake.sendUserMessage({ author: CAROL, content: '/deny dec-d1' });
    await rec.until(() => rec.answers.length === 3, 'the text answer');
    assert.equal(rec.answers[2]!.platformMessageId, sent.id);
    assert.equal(rec.answers[2]!.verdict, 'deny');
  });

  await t.test('updatePrompt edits the message: status shown, buttons gone', async () => {
    await adapter.updatePrompt({ channel: 'discord', conversationId: dmChannel, messageId: promptId, decisionId: 'dec-d1' }, prompt({ status: 'denied', decidedBy: 'carol' }));
    const message = fake.message(promptId)!;
    assert.deepEqual(message.components, []);
    assert.equal(message.history.length, 1);
    assert.match(JSON.stringify(message.embeds), /⛔ Denied by carol/);
  });

  await t.test('delivery failures surface as SNT_CHANNEL_DELIVERY_FAILED', async () => {
    await assert.rejects(
      adapter.sendText({ kind: 'conversation', conversationId: '123456789012345678' }, 'hello'),
      (error: unknown) => isSentinelError(error, 'SNT_CHANNEL_DELIVERY_FAILED') && /Unknown Channel/.test(error.message),
    );
    await assert.rejects(
      adapter.updatePrompt({ channel: 'discord', conversationId: fake.guildChannelId, messageId: rec.messages[1]!.platformMessageId, decisionId: 'x' }, prompt()),
      (error: unknown) => isSentinelError(error, 'SNT_CHANNEL_DELIVERY_FAILED'),
    );
  });
  now = Date.now();
});

test('discord adapter refuses to start when the gateway rejects the token', async (t) => {
  const defer = deferrer(t);
  const fake = await FakeDiscord.start({ token: TOKEN });
  defer(() => fake.close());
  const adapter = createDiscordAdapter({ token: 'wrong-token', publicKey: fake.publicKeyHex, apiRoot: fake.apiRoot, readyTimeoutMs: 5000 });
  await assert.rejects(adapter.start(recorder().handlers));
  await adapter.stop();
  assert.equal(fake.gatewayConnections, 0);
});

test('discord adapter configuration errors are caught at construction', () => {
  assert.throws(() => createDiscordAdapter({ token: '', publicKey: 'ab'.repeat(32) }), /DISCORD_BOT_TOKEN/);
  assert.throws(() => createDiscordAdapter({ token: TOKEN, publicKey: 'not-a-key' }), /DISCORD_PUBLIC_KEY/);
});
