// Telegram, end to end: the real telegraf client in the channels service against the local fake of
// the Bot API (webhook mode: updates are POSTed to the service with the secret token), and the
// whole pipeline on the real broker, registry, PostgreSQL and Redis.
import assert from 'node:assert/strict';
import { createHash, randomBytes, randomInt } from 'node:crypto';
import { test } from 'node:test';
import { FakeTelegram, type FakeTelegramMessage } from '../support/fakes/telegram.ts';
import { answersOfThisTest, closingOnFailure, executions, freePort, startPipeline } from '../support/pipeline.ts';
import { waitFor } from '../support/wait.ts';

const TIMEOUT = 30_000;

test('telegram: low risk runs at once; high risk is approved with a button and runs once; denied and expired never run; forged callbacks are refused', async (t) => {
  const token = `${randomInt(1000, 9999)}:TEST-${randomBytes(6).toString('hex')}`;
  const secret = `secret_${randomBytes(8).toString('hex')}`;
  const fake = await FakeTelegram.start({ token });
  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  const p = await closingOnFailure(fake, () => startPipeline(t, {
    within: { ops: '8s' },
    channelsEnv: {
      PORT: String(port), PUBLIC_BASE_URL: base, TELEGRAM_BOT_TOKEN: token, TELEGRAM_API_ROOT: fake.apiRoot, TELEGRAM_WEBHOOK_SECRET: secret,
    },
  }));
  // Registered after the services' cleanups, so the fake outlives the adapter that talks to it.
  t.after(() => fake.close());
  assert.equal(fake.webhook?.url, `${base}/telegram/webhook`, 'the adapter registered its webhook');
  const user = (person: { telegram: number }, name: string) => ({ id: person.telegram, first_name: name, username: name.toLowerCase() });
  const alice = user(p.people.alice, 'Alice');
  const carol = user(p.people.carol, 'Carol');
  const erin = user(p.people.erin, 'Erin');
  // Approvers have started the bot (Telegram only lets bots write to people who did).
  for (const person of [p.people.carol, p.people.bob, p.people.dave]) fake.knowChat(person.telegram);

  const botSaid = (chatId: number, text: string | RegExp): Promise<FakeTelegramMessage> => waitFor(
    () => fake.sentMessages.find((m) => m.chatId === chatId && (typeof text === 'string' ? m.text.includes(text) : text.test(m.text))),
    { timeoutMs: TIMEOUT, what: `the bot to say ${String(text)} in chat ${chatId}` },
  ).catch((error: unknown) => {
    throw new Error(`${(error as Error).message}; the bot said: ${fake.sentMessages.map((m) => `${m.chatId}: ${m.text.slice(0, 70).replace(/\n/g, ' / ')}`).join(' | ')}`);
  });
  const promptFor = (chatId: number, action: string) => botSaid(chatId, action).then((m) => {
    const data = m.reply_markup?.inline_keyboard.flat().map((b) => b.callback_data ?? '') ?? [];
    return { message: m, decisionId: data[0]!.split(':')[1]!, buttons: data };
  });
  const send = async (from: typeof alice, text: string) => {
    const sent = await fake.sendUserMessage({ from, text });
    assert.equal(sent.webhookStatus, 200, `the webhook took "${text}"`);
  };

  // Expired: a command needing an operator (bob, dave), 8 s to answer; nobody does.
  await send(alice, 'run `sudo reboot` on web-2');
  const reboot = await promptFor(p.people.dave.telegram, 'sudo reboot');
  assert.deepEqual(reboot.buttons, [`apv:${reboot.decisionId}:approve`, `apv:${reboot.decisionId}:deny`]);

  // Low risk.
  await send(alice, 'run `df -h` on build-01');
  await botSaid(alice.id, 'Done: run `df -h` on build-01');

  // High risk, approved with the inline keyboard by carol; bob's card follows.
  await send(alice, 'transfer $5000 to Alice');
  await botSaid(alice.id, 'Waiting for approval (medium risk): transfer 5,000.00 USD to Alice');
  const transfer = await promptFor(carol.id, 'transfer 5,000.00 USD to Alice');
  const bobsCard = await promptFor(p.people.bob.telegram, 'transfer 5,000.00 USD to Alice');
  const press = await fake.pressButton({ chatId: carol.id, messageId: transfer.message.message_id, from: carol, data: `apv:${transfer.decisionId}:approve` });
  assert.equal(press.webhookStatus, 200);
  const pressBody = fake.lastWebhookBody!;
  await fake.waitForCall('answerCallbackQuery', (c) => c.params.callback_query_id === press.callback_query_id);
  await botSaid(alice.id, 'Done: transfer 5,000.00 USD to Alice');
  await waitFor(() => /Approved by Carol/.test(fake.message(carol.id, transfer.message.message_id)!.text), { timeoutMs: TIMEOUT, what: 'carol\'s card edited' });
  await waitFor(() => /Approved by Carol/.test(fake.message(p.people.bob.telegram, bobsCard.message.message_id)!.text), { timeoutMs: TIMEOUT, what: 'bob\'s card edited' });
  assert.equal(fake.message(carol.id, transfer.message.message_id)!.reply_markup, null, 'the keyboard is gone');

  // Denied with the text fallback.
  await send(alice, 'transfer $1500 to Bob');
  const denied = await promptFor(carol.id, 'transfer 1,500.00 USD to Bob');
  await send(carol, `/deny ${denied.decisionId}`);
  await botSaid(carol.id, `Your denial of ${denied.decisionId} was received`);
  await botSaid(alice.id, 'Refused: transfer 1,500.00 USD to Bob. Denied by Carol');

  // Forged callbacks: a button press for the pending command without (or with a wrong) secret token.
  const forged = JSON.stringify({
    update_id: 900_000_001,
    callback_query: {
      id: 'forged-1', from: { id: p.people.dave.telegram, is_bot: false, first_name: 'Dave' }, chat_instance: 'x',
      message: { message_id: reboot.message.message_id, chat: { id: p.people.dave.telegram, type: 'private' }, date: 0 },
      data: `apv:${reboot.decisionId}:approve`,
    },
  });
  for (const headers of [{}, { 'x-telegram-bot-api-secret-token': 'not-the-secret' }]) {
    const response = await fetch(`${base}/telegram/webhook`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: forged });
    assert.equal(response.status, 401);
    assert.equal(((await response.json()) as { error: { code: string } }).error.code, 'SNT_CHANNEL_FORGED_CALLBACK');
  }
  // Someone who is no approver is told so.
  await send(erin, `/approve ${reboot.decisionId}`);
  await botSaid(erin.id, 'You are not an approver');

  // The command expires: the requester is told and the operators' cards say so.
  await botSaid(alice.id, 'Refused: run `sudo reboot` on web-2. No approval before the deadline');
  await waitFor(() => /Expired/.test(fake.message(p.people.dave.telegram, reboot.message.message_id)!.text), { timeoutMs: TIMEOUT, what: 'dave\'s card expired' });

  const answers = await answersOfThisTest(p, 4, 3, 1000);
  assert.deepEqual(answers.map((r) => r.verdict).sort(), ['approve', 'deny', 'expired'], 'no forged or unauthorised answer reached the signer');
  const approve = answers.find((r) => r.verdict === 'approve')!;
  assert.deepEqual(
    [approve.approver.userId, approve.evidence.platform, approve.evidence.authenticatedBy, approve.evidence.platformMessageId],
    [p.people.carol.userId, 'telegram', 'telegram-webhook-secret-token', String(transfer.message.message_id)],
  );
  assert.equal(approve.evidence.callbackDigest, `sha256:${createHash('sha256').update(pressBody).digest('hex')}`, 'the digest of the callback exactly as received');
  const ran = await executions(p, 2, 1500);
  assert.deepEqual(ran.map((e) => e.status), ['executed', 'executed'], 'only the allowed and the approved actions ran, once each');
  assert.equal(fake.sentMessages.filter((m) => m.chatId === alice.id && m.text.startsWith('Done: transfer 5,000.00 USD')).length, 1);
  const metrics = await (await fetch(`${base}/metrics`)).text();
  assert.match(metrics, /sentinel_channels_webhook_refusals_total\{[^}]*channel="telegram"[^}]*code="SNT_CHANNEL_FORGED_CALLBACK"[^}]*\} 2/);
});
