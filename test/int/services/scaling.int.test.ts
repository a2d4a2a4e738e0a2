// Scaling a consumer group: a second instance takes half the partitions; an instance killed with
// SIGKILL hands its partitions to the survivor; every intent gets exactly one decision, none lost.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { test } from 'node:test';
import { DecisionMade } from '../../../src/contracts/events.ts';
import type { Intent } from '../../../src/domain/types.ts';
import { requireServices } from '../../support/infra.ts';
import { createTestBus } from '../../support/kafka.ts';
import { sampleIntent } from '../../support/fixtures.ts';
import { publishIntent, POLICY_TEST_DB } from '../../support/policy-service.ts';
import { freePort } from '../../support/registry-process.ts';
import { scrapeMetric, startServiceProcess } from '../../support/service-process.ts';
import { waitFor, sleep } from '../../support/wait.ts';

test('policy consumer group: adding an instance spreads the partitions; SIGKILLing one moves its work; nothing lost or done twice', { timeout: 240_000 }, async (t) => {
  const config = await requireServices('kafka', 'registry', 'postgres', 'redis');
  const bus = await createTestBus(t, config);
  const codec = await bus.codec();
  // debug: each instance logs its group joins, stable offsets, committed transactions and handled events (printed on a duplicate)
  const env = { LOG_LEVEL: 'debug', TOPIC_PREFIX: bus.prefix, POSTGRES_DB: POLICY_TEST_DB, REDIS_KEY_PREFIX: `test:${randomBytes(4).toString('hex')}:`, KAFKA_CLIENT: config.kafka.client };
  const partitions = (url: string) => scrapeMetric(url, 'sentinel_consumer_assigned_partitions', { topic: bus.topicName('sentinel.intents') });
  const a = await startServiceProcess('consumers/policy/main.ts', await freePort(), { ...env, INSTANCE_ID: 'scale-a' });
  t.after(() => a.stop());
  await waitFor(async () => (await partitions(a.url)) === 6, { timeoutMs: 30_000, what: 'instance A owns all 6 partitions' });

  const users = Array.from({ length: 24 }, (_, i) => `scale-${randomBytes(2).toString('hex')}-${i}`);
  const sent: Intent[] = [];
  let stop = false;
  const producing = (async () => {
    for (let i = 0; !stop; i++) {
      const userId = users[i % users.length]!;
      const intent = sampleIntent({
        requester: { userId, channel: 'http', channelUserId: userId, displayName: null },
        conversation: { channel: 'http', conversationId: `c-${userId}` },
        action: { type: 'command_run', host: 'h', command: 'uptime' }, text: null,
      });
      await publishIntent(bus, codec, intent);
      sent.push(intent);
      await sleep(20);
    }
  })();

  await sleep(2000);
  const b = await startServiceProcess('consumers/policy/main.ts', await freePort(), { ...env, INSTANCE_ID: 'scale-b' });
  t.after(() => b.stop());
  await waitFor(async () => (await partitions(a.url)) === 3 && (await partitions(b.url)) === 3, { timeoutMs: 40_000, what: 'the group to spread 3 + 3' });
  await sleep(2000);
  await a.kill(); // SIGKILL: no leave-group, open transaction left behind
  await waitFor(async () => (await partitions(b.url)) === 6, { timeoutMs: 40_000, what: 'B to take over all 6 partitions' });
  await sleep(2000);
  stop = true;
  await producing;

  let records;
  try {
    records = await bus.readAll(bus.topicName('sentinel.decisions'), sent.length, { timeoutMs: 60_000, readCommitted: true, settleMs: 2000 });
  } catch (error) {
    // Diagnostics: what a read_uncommitted reader sees, and what the instances said.
    const raw = await bus.readAll(bus.topicName('sentinel.decisions'), sent.length, { timeoutMs: 15_000, readCommitted: false }).catch(() => []);
    const perPartition: Record<number, number> = {};
    for (const r of raw) perPartition[r.partition] = (perPartition[r.partition] ?? 0) + 1;
    process.stdout.write(`scaling diagnostics: read_uncommitted saw ${raw.length} records ${JSON.stringify(perPartition)}; B metrics assigned=${await partitions(b.url).catch(() => -1)}\n--- A log\n${a.log().slice(-4000)}\n--- B log\n${b.log().slice(-6000)}\n`);
    throw error;
  }
  const perIntent = new Map<string, number>();
  const producers = new Set<string>();
  for (const record of records) {
    const { metadata, data } = DecisionMade.fromAvro((await codec.decode<Record<string, unknown>>(record.topic, record.value!)).value);
    perIntent.set(data.intentId, (perIntent.get(data.intentId) ?? 0) + 1);
    producers.add(metadata.producer.split('/')[1]!);
  }
  const duplicatedCauses = new Set<string>();
  for (const record of records) {
    const { metadata, data } = DecisionMade.fromAvro((await codec.decode<Record<string, unknown>>(record.topic, record.value!)).value);
    if ((perIntent.get(data.intentId) ?? 0) > 1) {
      process.stdout.write(`DUP decision ${record.partition}@${record.offset} by ${metadata.producer} at ${metadata.occurredAt} for intent ${data.intentId} (event ${metadata.causationId})\n`);
      duplicatedCauses.add(metadata.causationId ?? '');
    }
  }
  if (duplicatedCauses.size > 0) {
    const relevant = (line: string) => [...duplicatedCauses].some((id) => id !== '' && line.includes(id))
      || /consumer group joined|stable committed offsets loaded|rebuilding|transaction committed|combined batch failed|retrying/.test(line);
    for (const [name, instance] of [['A', a], ['B', b]] as const) {
      process.stdout.write(`--- ${name}: joins, floors, commits and the duplicated events\n${instance.log().split('\n').filter(relevant).join('\n')}\n`);
    }
  }
  const lost = sent.filter((i) => !perIntent.has(i.intentId)).length;
  const duplicated = [...perIntent.values()].filter((n) => n > 1).length;
  process.stdout.write(`scaling: ${sent.length} intents sent, ${perIntent.size} decided, ${lost} lost, ${duplicated} decided twice; instances: ${[...producers].join(', ')}\n`);
  assert.equal(lost, 0, 'no intent lost');
  assert.equal(duplicated, 0, 'no intent decided twice (as read_committed consumers see it)');
  assert.equal(records.length, sent.length);
  assert.deepEqual([...producers].sort(), ['scale-a', 'scale-b'], 'both instances did work');
});
