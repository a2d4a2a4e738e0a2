// Discord, end to end: the real discord.js client in the channels service against the local fake
// of Discord's REST API and gateway; button presses arrive at the service's Interactions Endpoint
// signed with Ed25519. The whole pipeline runs on the real broker, registry, PostgreSQL and Redis.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { test } from 'node:test';
import { FakeDiscord, type FakeDiscordMessage, type FakeDiscordUser } from '../support/fakes/discord.ts';
import { answersOfThisTest, closingOnFailure, executions, startPipeline } from '../support/pipeline.ts';
import { waitFor } from '../support/wait.ts';

const TIMEOUT = 30_000;

function describe(m: FakeDiscordMessage): string {
  return `${m.content} ${JSON.stringify(m.embeds)}`;
}

test('discord: low risk runs at once; high risk is approved with a signed button press and runs once; denied and expired never run; forged interactions are refused', async (t) => {
  const token = `MTAw.${randomBytes(6).toString('hex')}.fake-discord-token`;
  const fake = await FakeDiscord.start({ token });
  const p = await closingOnFailure(fake, () => startPipeline(t, {
    within: { ops: '8s' },
    channelsEnv: { DISCORD_BOT_TOKEN: token, DISCORD_PUBLIC_KEY: fake.publicKeyHex, DISCORD_API_ROOT: fake.apiRoot },
  }));
  // Registered after the services' cleanups, so the fake outlives the adapter that talks to it.
  t.after(() => fake.close());
  const endpoint = `${p.channels.url}/discord/interactions`;
  const user = (person: { discord: string }, name: string): FakeDiscordUser => ({ id: person.discord, username: name.toLowerCase(), global_name: name });
  const alice = user(p.people.alice, 'Alice');
  const carol = user(p.people.carol, 'Carol');
  const erin = user(p.people.erin, 'Erin');
  for (const [person, name] of [[p.people.carol, 'Carol'], [p.people.bob, 'Bob'], [p.people.dave, 'Dave']] as const) fake.registerUser(user(person, name));

  const botSaid = (channelId: () => string | undefined, text: string): Promise<FakeDiscordMessage> => waitFor(
    () => fake.sentMessages.find((m) => m.channel_id === channelId() && describe(m).includes(text)),
    { timeoutMs: TIMEOUT, what: `the bot to say ${text}` },
  ).catch((error: unknown) => {
    throw new Error(`${(error as Error).message}; the bot said: ${fake.sentMessages.map((m) => `${m.channel_id}: ${describe(m).slice(0, 90)}`).join(' | ')}`);
  });
  const dm = (u: FakeDiscordUser) => () => fake.dmChannelOf(u.id);
  const buttonsOf = (m: FakeDiscordMessage) => m.components.flatMap((row) => row.components.map((c) => String(c.custom_id)));
  const say = (author: FakeDiscordUser, content: string) => fake.sendUserMessage({ author, content, dm: true });

  // Expired: a command needing an operator; nobody answers within 8 s.
  say(alice, 'run `sudo reboot` on web-2');
  const daveUser = user(p.people.dave, 'Dave');
  const reboot = await botSaid(dm(daveUser), 'sudo reboot');
  const rebootId = buttonsOf(reboot)[0]!.split(':')[1]!;

  // Low risk.
  say(alice, 'run `df -h` on build-01');
  await botSaid(dm(alice), 'Done: run `df -h` on build-01');

  // High risk, approved by carol with a button (a signed interaction at our endpoint).
  say(alice, 'transfer $5000 to Alice');
  await botSaid(dm(alice), 'Waiting for approval (medium risk): transfer 5,000.00 USD to Alice');
  const card = await botSaid(dm(carol), '5,000.00 USD to Alice');
  const [approveId, denyId] = buttonsOf(card);
  assert.match(approveId!, /^apv:.+:approve$/);
  assert.match(denyId!, /^apv:.+:deny$/);
  const press = await fake.postInteraction(endpoint, fake.buttonInteraction({ user: carol, messageId: card.id, customId: approveId! }));
  assert.equal(press.status, 200);
  assert.match(JSON.stringify(press.body), /Your approval of .* was received/);
  await botSaid(dm(alice), 'Done: transfer 5,000.00 USD to Alice');
  await waitFor(() => describe(fake.message(card.id)!).includes(`Approved by ${p.people.carol.displayName}`), { timeoutMs: TIMEOUT, what: 'carol\'s card edited' });
  assert.deepEqual(fake.message(card.id)!.components, [], 'the buttons are gone');

  // Denied with the text fallback, in carol's DM with the bot.
  say(alice, 'transfer $1500 to Bob');
  const denyCard = await botSaid(dm(carol), '1,500.00 USD to Bob');
  const deniedId = buttonsOf(denyCard)[0]!.split(':')[1]!;
  say(carol, `/deny ${deniedId}`);
  await botSaid(dm(carol), `Your denial of ${deniedId} was received`);
  await botSaid(dm(alice), 'Refused: transfer 1,500.00 USD to Bob. Denied by');

  // Forged interactions: a bad signature, no signature, a stale one. Refused before parsing.
  const forged = fake.buttonInteraction({ user: daveUser, messageId: reboot.id, customId: `apv:${rebootId}:approve` });
  for (const [tamper, code] of [
    [{ signature: '00'.repeat(64) }, 'SNT_CHANNEL_FORGED_CALLBACK'],
    [{ signature: null }, 'SNT_CHANNEL_FORGED_CALLBACK'],
    [{ body: JSON.stringify(forged).replace(':approve', ':deny') }, 'SNT_CHANNEL_FORGED_CALLBACK'],
    [{ signedAt: Date.now() - 10 * 60_000 }, 'SNT_CHANNEL_STALE_CALLBACK'],
  ] as const) {
    const response = await fake.postInteraction(endpoint, forged, tamper);
    assert.equal(response.status, 401, JSON.stringify(tamper));
    assert.equal((response.body as { error: { code: string } }).error.code, code);
  }
  // An authentic press from someone who is no approver: refused, with the reason.
  const intruder = await fake.postInteraction(endpoint, fake.buttonInteraction({ user: erin, messageId: reboot.id, customId: `apv:${rebootId}:approve` }));
  assert.equal(intruder.status, 200);
  assert.match(JSON.stringify(intruder.body), /not an approver/);

  // The command expires: the requester is told and the operator's card says so.
  await botSaid(dm(alice), 'Refused: run `sudo reboot` on web-2. No approval before the deadline');
  await waitFor(() => describe(fake.message(reboot.id)!).includes('Expired'), { timeoutMs: TIMEOUT, what: 'dave\'s card expired' });

  const answers = await answersOfThisTest(p, 4, 3, 1000);
  assert.deepEqual(answers.map((r) => r.verdict).sort(), ['approve', 'deny', 'expired'], 'no forged or unauthorised answer reached the signer');
  const approve = answers.find((r) => r.verdict === 'approve')!;
  assert.deepEqual(
    [approve.approver.userId, approve.evidence.platform, approve.evidence.authenticatedBy, approve.evidence.platformMessageId],
    [p.people.carol.userId, 'discord', 'discord-ed25519', card.id],
  );
  const ran = await executions(p, 2, 1500);
  assert.deepEqual(ran.map((e) => e.status), ['executed', 'executed'], 'only the allowed and the approved actions ran, once each');
  const metrics = await (await fetch(`${p.channels.url}/metrics`)).text();
  assert.match(metrics, /sentinel_channels_webhook_refusals_total\{[^}]*channel="discord"[^}]*code="SNT_CHANNEL_FORGED_CALLBACK"[^}]*\} 3/);
  assert.match(metrics, /sentinel_channels_approval_answers_total\{[^}]*channel="discord"[^}]*result="not_an_approver"[^}]*\} 1/);
});
