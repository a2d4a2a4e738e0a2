// The Telegram adapter with the real telegraf client against a local fake of the Bot API, over
// real HTTP on 127.0.0.1: long polling, webhook delivery with the secret token, prompts with
// inline keyboards, button presses, edits, and refusals of forged or malformed callbacks.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { once } from 'node:events';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { test } from 'node:test';
import { createWebhookListener } from '../../../src/channels/adapters/common.ts';
import { createTelegramAdapter } from '../../../src/channels/adapters/telegram.ts';
import type { AdapterHandlers, ApprovalAnswer, InboundMessage } from '../../../src/channels/types.ts';
import type { ApprovalPrompt } from '../../../src/domain/types.ts';
import { isSentinelError } from '../../../src/errors/index.ts';
import { FakeTelegram } from '../../support/fakes/telegram.ts';

const TOKEN = '4242:TEST-token_abc';
const ALICE = { id: 100000001, first_name: 'Alice', last_name: 'Adams', username: 'alice' };
const CAROL = { id: 100000003, first_name: 'Carol', username: 'carol' };
const NOW = Date.UTC(2025, 10, 25, 19, 0, 0);

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
  const waiters: Array<() => void> = [];
  let fail = false;
  const notify = () => waiters.splice(0).forEach((w) => w());
  const handlers: AdapterHandlers = {
    async onMessage(m) {
      if (fail) throw new Error('kafka is down');
      messages.push(m);
      notify();
    },
    async onApprovalAnswer(a) {
      if (fail) throw new Error('kafka is down');
      answers.push(a);
      notify();
    },
  };
  async function until(cond: () => boolean, what: string, timeoutMs = 5000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!cond()) {
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
      await new Promise<void>((resolve) => {
        waiters.push(resolve);
        setTimeout(resolve, 50);
      });
    }
  }
  return { messages, answers, handlers, until, setFailing: (v: boolean) => { fail = v; } };
}

function prompt(overrides: Partial<ApprovalPrompt> = {}): ApprovalPrompt {
  return {
    decisionId: 'dec-7f3a', intentId: 'int-1',
    requester: { userId: 'alice', channel: 'telegram', channelUserId: String(ALICE.id), displayName: 'Alice Adams' },
    actionSummary: 'Transfer 5,000.00 USD to <Bob & Co>', riskTier: 'high', reason: 'Amount above the 1,000.00 USD limit',
    deadline: NOW + 15 * 60_000, approvers: ['role:treasury'], requiredApprovals: 1, status: 'pending', decidedBy: null,
    ...overrides,
  };
}

test('telegram adapter over long polling: messages, prompts, button presses, edits', async (t) => {
  const defer = deferrer(t);
  const fake = await FakeTelegram.start({ token: TOKEN });
  defer(() => fake.close());
  const adapter = createTelegramAdapter({ token: TOKEN, apiRoot: fake.apiRoot, clock: () => NOW });
  const rec = recorder();
  await adapter.start(rec.handlers);
  defer(() => adapter.stop());
  assert.equal(adapter.webhooks.length, 0);
  assert.ok(fake.calls.some((c) => c.method === 'getMe'));
  assert.ok(fake.calls.some((c) => c.method === 'deleteWebhook'), 'polling starts by removing any webhook');

  await t.test('a user message reaches onMessage with the sender and conversation', async () => {
    const sent = await fake.sendUserMessage({ from: ALICE, text: 'transfer $5000 to Bob' });
    await rec.until(() => rec.messages.length === 1, 'the message');
    assert.deepEqual(rec.messages[0], {
      channel: 'telegram', conversationId: String(ALICE.id), channelUserId: String(ALICE.id), displayName: 'Alice Adams',
      text: 'transfer $5000 to Bob', platformMessageId: String(sent.message_id),
      authenticatedBy: 'telegram-bot-api-polling', receivedAt: NOW,
    });
  });

  await t.test('sendText delivers to the conversation and returns the message ref', async () => {
    const ref = await adapter.sendText({ kind: 'conversation', conversationId: String(ALICE.id) }, 'Transfer approved & done <ok>');
    const message = fake.message(ALICE.id, Number(ref.messageId));
    assert.equal(message?.text, 'Transfer approved & done <ok>');
    assert.equal(message?.parse_mode, null, 'plain replies are not parsed as markup');
    assert.equal(ref.channel, 'telegram');
  });

  let promptMessageId = 0;
  await t.test('sendPrompt to an approver renders HTML and an inline keyboard', async () => {
    fake.knowChat(CAROL.id);
    const ref = await adapter.sendPrompt({ kind: 'user', channelUserId: String(CAROL.id) }, prompt());
    assert.deepEqual({ ...ref, messageId: undefined }, { channel: 'telegram', conversationId: String(CAROL.id), messageId: undefined, decisionId: 'dec-7f3a' });
    promptMessageId = Number(ref.messageId);
    const message = fake.message(CAROL.id, promptMessageId)!;
    assert.equal(message.parse_mode, 'HTML');
    assert.match(message.text, /Transfer 5,000\.00 USD to <Bob & Co>/, 'user text is escaped and shown literally');
    assert.match(message.text, /\/approve dec-7f3a/);
    assert.deepEqual(message.reply_markup?.inline_keyboard, [[
      { text: '✅ Approve', callback_data: 'apv:dec-7f3a:approve' },
      { text: '⛔ Deny', callback_data: 'apv:dec-7f3a:deny' },
    ]]);
  });

  await t.test('a button press becomes an ApprovalAnswer and the query is answered', async () => {
    const press = await fake.pressButton({ chatId: CAROL.id, messageId: promptMessageId, from: CAROL, data: 'apv:dec-7f3a:approve' });
    await rec.until(() => rec.answers.length === 1, 'the answer');
    const answer = rec.answers[0]!;
    assert.equal(answer.decisionId, 'dec-7f3a');
    assert.equal(answer.verdict, 'approve');
    assert.equal(answer.platform, 'telegram');
    assert.equal(answer.platformUserId, String(CAROL.id));
    assert.equal(answer.platformMessageId, String(promptMessageId), 'the PromptRef.messageId of the prompt');
    assert.equal(answer.conversationId, String(CAROL.id));
    assert.equal(answer.authenticatedBy, 'telegram-bot-api-polling');
    assert.match(answer.callbackDigest, /^sha256:[0-9a-f]{64}$/);
    assert.equal(answer.receivedAt, NOW);
    await fake.waitForCall('answerCallbackQuery', (c) => c.params.callback_query_id === press.callback_query_id);
    assert.match(fake.callbackAnswers.at(-1)?.text ?? '', /Approval received/);
  });

  await t.test('updatePrompt edits the card to its outcome and removes the keyboard; repeating it is harmless', async () => {
    const ref = { channel: 'telegram' as const, conversationId: String(CAROL.id), messageId: String(promptMessageId), decisionId: 'dec-7f3a' };
    await adapter.updatePrompt(ref, prompt({ status: 'approved', decidedBy: 'carol' }));
    const message = fake.message(CAROL.id, promptMessageId)!;
    assert.match(message.text, /✅ Approved by carol/);
    assert.equal(message.reply_markup, null);
    assert.equal(message.history.length, 1);
    await adapter.updatePrompt(ref, prompt({ status: 'approved', decidedBy: 'carol' }));
    assert.equal(message.history.length, 1, 'the second identical update changed nothing');
  });

  await t.test('/approve ID and /deny ID text answers; a bare /approve gets usage help', async () => {
    await fake.sendUserMessage({ from: CAROL, text: '/deny dec-7f3a' });
    await rec.until(() => rec.answers.length === 2, 'the text answer');
    assert.equal(rec.answers[1]!.verdict, 'deny');
    assert.equal(rec.answers[1]!.decisionId, 'dec-7f3a');
    const before = rec.messages.length;
    await fake.sendUserMessage({ from: CAROL, text: '/approve@other_bot dec-7f3a' });
    await fake.sendUserMessage({ from: CAROL, text: '/approve' });
    await fake.waitForCall('sendMessage', (c) => /Usage: \/approve/.test(String(c.params.text)));
    assert.equal(rec.messages.length, before, 'a command is not forwarded as a chat message');
    assert.equal(rec.answers.length, 2, 'a command for another bot is ignored');
  });

  await t.test('a button that is not an approval button changes nothing', async () => {
    const count = rec.answers.length;
    const ref = await adapter.sendPrompt({ kind: 'user', channelUserId: String(CAROL.id) }, prompt({ decisionId: 'dec-2' }));
    const press = await fake.pressButton({ chatId: CAROL.id, messageId: Number(ref.messageId), from: CAROL, data: 'apv:dec-2:maybe' });
    await fake.waitForCall('answerCallbackQuery', (c) => c.params.callback_query_id === press.callback_query_id);
    assert.equal(rec.answers.length, count);
    assert.match(fake.callbackAnswers.at(-1)?.text ?? '', /not one of mine/);
  });

  await t.test('when the service cannot take a message the user is told, not ignored', async () => {
    rec.setFailing(true);
    try {
      await fake.sendUserMessage({ from: ALICE, text: 'pay bob 5' });
      await fake.waitForCall('sendMessage', (c) => /could not take your request/.test(String(c.params.text)));
    } finally {
      rec.setFailing(false);
    }
  });

  await t.test('delivery to a chat the bot cannot reach fails with SNT_CHANNEL_DELIVERY_FAILED', async () => {
    await assert.rejects(
      adapter.sendText({ kind: 'user', channelUserId: '999' }, 'hello'),
      (error: unknown) => isSentinelError(error, 'SNT_CHANNEL_DELIVERY_FAILED') && /chat not found/.test(error.message),
    );
  });
});

test('telegram adapter in webhook mode authenticates every callback with the secret token', async (t) => {
  const defer = deferrer(t);
  const fake = await FakeTelegram.start({ token: TOKEN });
  defer(() => fake.close());
  const secret = 'hook_secret-123';
  const server = createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  defer(() => {
    server.closeAllConnections();
    server.close();
  });
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const adapter = createTelegramAdapter({
    token: TOKEN, apiRoot: fake.apiRoot, clock: () => NOW, maxBodyBytes: 4096,
    webhook: { url: `${base}/telegram/webhook`, secretToken: secret },
  });
  const listener = createWebhookListener(adapter.webhooks);
  server.on('request', (req, res) => {
    void listener(req, res).then((handled) => {
      if (!handled) res.writeHead(404).end();
    });
  });
  const rec = recorder();
  await adapter.start(rec.handlers);
  defer(() => adapter.stop());

  await t.test('start registers the webhook with its secret token', () => {
    assert.deepEqual(fake.webhook, { url: `${base}/telegram/webhook`, secret_token: secret, allowed_updates: ['message', 'callback_query'] });
  });

  await t.test('an update POSTed by Telegram with the secret reaches onMessage', async () => {
    const sent = await fake.sendUserMessage({ from: ALICE, text: 'run uptime on web-2' });
    assert.equal(sent.webhookStatus, 200);
    assert.equal(rec.messages.length, 1, 'processed before the webhook answered');
    assert.equal(rec.messages[0]!.authenticatedBy, 'telegram-webhook-secret-token');
  });

  await t.test('a button press by webhook carries the digest of the exact body received', async () => {
    fake.knowChat(CAROL.id);
    const ref = await adapter.sendPrompt({ kind: 'user', channelUserId: String(CAROL.id) }, prompt());
    const press = await fake.pressButton({ chatId: CAROL.id, messageId: Number(ref.messageId), from: CAROL, data: 'apv:dec-7f3a:deny' });
    assert.equal(press.webhookStatus, 200);
    const answer = rec.answers.at(-1)!;
    assert.equal(answer.verdict, 'deny');
    assert.equal(answer.authenticatedBy, 'telegram-webhook-secret-token');
    assert.equal(answer.callbackDigest, `sha256:${createHash('sha256').update(fake.lastWebhookBody!).digest('hex')}`);
  });

  const forged = JSON.stringify({
    update_id: 99, callback_query: { id: 'x', from: { id: CAROL.id, is_bot: false, first_name: 'Carol' }, chat_instance: 'c', data: 'apv:dec-7f3a:approve' },
  });
  const post = (headers: Record<string, string>, body: string) =>
    fetch(`${base}/telegram/webhook`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body });

  await t.test('a callback without the secret token, or with a wrong one, is refused and changes nothing', async () => {
    const count = rec.answers.length;
    const attempts: Array<Record<string, string>> = [{}, { 'x-telegram-bot-api-secret-token': 'hook_secret-124' }, { 'x-telegram-bot-api-secret-token': '' }];
    for (const headers of attempts) {
      const response = await post(headers, forged);
      assert.equal(response.status, 401);
      const body = (await response.json()) as { error: { code: string } };
      assert.equal(body.error.code, 'SNT_CHANNEL_FORGED_CALLBACK');
    }
    assert.equal(rec.answers.length, count);
  });

  await t.test('malformed, shapeless and oversized bodies are refused with clear codes', async () => {
    const ok = { 'x-telegram-bot-api-secret-token': secret };
    let response = await post(ok, '{"update_id": 1,');
    assert.equal(response.status, 400);
    assert.equal(((await response.json()) as { error: { code: string } }).error.code, 'SNT_MALFORMED_JSON');
    response = await post(ok, '{"message": {}}');
    assert.equal(response.status, 400);
    assert.equal(((await response.json()) as { error: { code: string } }).error.code, 'SNT_VALIDATION_FAILED');
    response = await post(ok, JSON.stringify({ update_id: 5, message: { text: 'x'.repeat(5000) } }));
    assert.equal(response.status, 413);
    assert.equal(rec.messages.length, 1);
  });

  await t.test('getUpdates is refused by Telegram while the webhook is set, as the fake enforces', async () => {
    const response = await fetch(`${fake.apiRoot}/bot${TOKEN}/getUpdates`, { method: 'POST' });
    assert.equal(response.status, 409);
  });
});

test('telegram adapter refuses to start with a token Telegram rejects', async (t) => {
  const defer = deferrer(t);
  const fake = await FakeTelegram.start({ token: TOKEN });
  defer(() => fake.close());
  const adapter = createTelegramAdapter({ token: '4242:wrong', apiRoot: fake.apiRoot });
  await assert.rejects(adapter.start(recorder().handlers), /401|Unauthorized/);
  await adapter.stop();
});

test('telegram adapter configuration errors are caught at construction', () => {
  assert.throws(() => createTelegramAdapter({ token: '' }), /TELEGRAM_BOT_TOKEN/);
  assert.throws(() => createTelegramAdapter({ token: TOKEN, webhook: { url: 'https://x.example/hook', secretToken: 'has spaces' } }), /TELEGRAM_WEBHOOK_SECRET/);
});
