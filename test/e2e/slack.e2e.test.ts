// Slack, end to end: the real @slack/bolt app and web-api client in the channels service against
// the local fake of Slack's Web API; events, button presses and slash commands arrive at the
// service's Request URL signed with the signing secret. The whole pipeline runs on the real broker,
// registry, PostgreSQL and Redis.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { test } from 'node:test';
import { FakeSlack, type FakeSlackMessage } from '../support/fakes/slack.ts';
import { answersOfThisTest, closingOnFailure, executions, startPipeline } from '../support/pipeline.ts';
import { waitFor } from '../support/wait.ts';

const TIMEOUT = 30_000;

function describe(m: FakeSlackMessage): string {
  return `${m.text} ${JSON.stringify(m.blocks ?? [])}`;
}

function buttonValues(m: FakeSlackMessage): string[] {
  return (m.blocks ?? []).filter((b) => b.type === 'actions').flatMap((b) => (b.elements as Array<{ value?: string }>).map((e) => e.value ?? ''));
}

test('slack: low risk runs at once; high risk is approved with a Block Kit button and runs once; denied and expired never run; forged requests are refused', async (t) => {
  const botToken = `xoxb-${randomBytes(6).toString('hex')}`;
  const signingSecret = randomBytes(16).toString('hex');
  const fake = await FakeSlack.start({ botToken });
  const p = await closingOnFailure(fake, () => startPipeline(t, {
    within: { ops: '8s' },
    channelsEnv: { SLACK_BOT_TOKEN: botToken, SLACK_SIGNING_SECRET: signingSecret, SLACK_API_ROOT: fake.apiRoot },
  }));
  t.after(() => fake.close()); // after the services' cleanups: the adapter stops first
  fake.app = { requestUrl: `${p.channels.url}/slack/events`, signingSecret };
  const { alice, carol, dave, erin } = p.people;

  const botSaid = (channel: string, text: string): Promise<FakeSlackMessage> => waitFor(
    () => fake.sentMessages.find((m) => m.channel === channel && describe(m).includes(text)),
    { timeoutMs: TIMEOUT, what: `the bot to say ${text} in ${channel}` },
  ).catch((error: unknown) => {
    throw new Error(`${(error as Error).message}; the bot said: ${fake.sentMessages.map((m) => `${m.channel}: ${m.text.slice(0, 80)}`).join(' | ')}`);
  });
  const say = async (user: string, text: string) => {
    const delivery = await fake.sendDirectMessage({ user, text });
    assert.equal(delivery.status, 200, `the event "${text}" was taken`);
    return delivery.channel;
  };

  // Expired: a command needing an operator; nobody answers within 8 s.
  const aliceDm = await say(alice.slack, 'run `sudo reboot` on web-2');
  const reboot = await botSaid(fake.dmOf(dave.slack), 'sudo reboot');
  const rebootId = buttonValues(reboot)[0]!.split(':')[1]!;

  // Low risk.
  await say(alice.slack, 'run `df -h` on build-01');
  await botSaid(aliceDm, 'Done: run `df -h` on build-01');

  // High risk, approved by carol's button press.
  await say(alice.slack, 'transfer $5000 to Alice');
  await botSaid(aliceDm, 'Waiting for approval (medium risk): transfer 5,000.00 USD to Alice');
  const carolDm = fake.dmOf(carol.slack);
  const card = await botSaid(carolDm, '5,000.00 USD to Alice');
  assert.deepEqual(buttonValues(card).map((v) => v.split(':')[2]), ['approve', 'deny']);
  const press = await fake.pressButton({ user: carol.slack, channel: carolDm, ts: card.ts, actionId: 'apv_approve' });
  assert.equal(press.status, 200);
  await waitFor(() => fake.ephemerals.some((e) => e.user === carol.slack && /Your approval of .* was received/.test(e.text)), { timeoutMs: TIMEOUT, what: 'the ephemeral receipt' });
  await botSaid(aliceDm, 'Done: transfer 5,000.00 USD to Alice');
  await waitFor(() => describe(fake.message(carolDm, card.ts)!).includes(`Approved by ${carol.displayName}`), { timeoutMs: TIMEOUT, what: 'carol\'s card updated' });
  assert.deepEqual(buttonValues(fake.message(carolDm, card.ts)!), [], 'the buttons are gone');

  // Denied with the /deny slash command.
  await say(alice.slack, 'transfer $1500 to Bob');
  const denyCard = await botSaid(carolDm, '1,500.00 USD to Bob');
  const deniedId = buttonValues(denyCard)[0]!.split(':')[1]!;
  const slash = await fake.slashCommand({ user: carol.slack, channel: carolDm, command: '/deny', text: deniedId });
  assert.equal(slash.status, 200);
  assert.match(slash.body, new RegExp(`Your denial of ${deniedId} was received`));
  await botSaid(aliceDm, `Refused: transfer 1,500.00 USD to Bob. Denied by ${carol.displayName}`);

  // Forged requests: signed with another secret, unsigned, replayed from long ago.
  const forgedPayload = new URLSearchParams({ command: '/approve', text: rebootId, user_id: dave.slack, channel_id: fake.dmOf(dave.slack) }).toString();
  for (const [tamper, code] of [
    [{ secret: 'not-the-signing-secret' }, 'SNT_CHANNEL_FORGED_CALLBACK'],
    [{ signature: null }, 'SNT_CHANNEL_FORGED_CALLBACK'],
    [{ timestamp: Math.floor(Date.now() / 1000) - 3600 }, 'SNT_CHANNEL_STALE_CALLBACK'],
  ] as const) {
    const response = await fake.signedPost(forgedPayload, 'application/x-www-form-urlencoded', tamper);
    assert.equal(response.status, 401, JSON.stringify(tamper));
    assert.equal((JSON.parse(response.body) as { error: { code: string } }).error.code, code);
  }
  // An authentic /approve from someone who is no approver: refused with the reason.
  const intruder = await fake.slashCommand({ user: erin.slack, channel: fake.dmOf(erin.slack), command: '/approve', text: rebootId });
  assert.match(intruder.body, /not an approver/);

  // The command expires: the requester is told and the operator's card says so.
  await botSaid(aliceDm, 'Refused: run `sudo reboot` on web-2. No approval before the deadline');
  await waitFor(() => describe(fake.message(fake.dmOf(dave.slack), reboot.ts)!).includes('Expired'), { timeoutMs: TIMEOUT, what: 'dave\'s card expired' });

  const answers = await answersOfThisTest(p, 4, 3, 1000);
  assert.deepEqual(answers.map((r) => r.verdict).sort(), ['approve', 'deny', 'expired'], 'no forged or unauthorised answer reached the signer');
  const approve = answers.find((r) => r.verdict === 'approve')!;
  assert.deepEqual(
    [approve.approver.userId, approve.evidence.platform, approve.evidence.authenticatedBy, approve.evidence.platformMessageId],
    [carol.userId, 'slack', 'slack-signing-secret', card.ts],
  );
  const ran = await executions(p, 2, 1500);
  assert.deepEqual(ran.map((e) => e.status), ['executed', 'executed'], 'only the allowed and the approved actions ran, once each');
  const metrics = await (await fetch(`${p.channels.url}/metrics`)).text();
  assert.match(metrics, /sentinel_channels_webhook_refusals_total\{[^}]*channel="slack"[^}]*code="SNT_CHANNEL_FORGED_CALLBACK"[^}]*\} 2/);
});
