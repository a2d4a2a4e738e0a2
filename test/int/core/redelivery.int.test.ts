// A consumer killed between writing its outputs and committing its offsets: the records are
// redelivered and processed again, and the output is not duplicated — atomically in transactional
// mode (read_committed readers see each output once), by event id in at-least-once mode.
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { test } from 'node:test';
import { IntentSubmitted } from '../../../src/contracts/events.ts';
import { EVENT_HEADERS } from '../../../src/kafka/headers.ts';
import { EventPublisher } from '../../../src/kafka/publisher.ts';
import { newTrace } from '../../../src/observability/trace.ts';
import { requireServices } from '../../support/infra.ts';
import { createTestBus, uniqueName, type TestBus } from '../../support/kafka.ts';
import { sampleIntent } from '../../support/fixtures.ts';

const RELAY = new URL('../../support/relay-process.ts', import.meta.url).pathname;
const COUNT = 200;

function startRelay(bus: TestBus, env: Record<string, string>): { child: ChildProcess; output: string[] } {
  const output: string[] = [];
  const child = spawn(process.execPath, ['--disable-warning=TimeoutNegativeWarning', RELAY], {
    env: { ...process.env, TOPIC_PREFIX: bus.prefix, KAFKA_CLIENT: bus.config.kafka.client, LOG_LEVEL: 'warn', ...env },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  child.stdout!.on('data', (chunk: Buffer) => output.push(...chunk.toString().split('\n').filter(Boolean)));
  return { child, output };
}

async function publishIntents(bus: TestBus): Promise<string[]> {
  const codec = await bus.codec();
  const publisher = new EventPublisher({ producer: bus.producer(), codec, topicName: bus.topicName, producerName: 'test' });
  const ids: string[] = [];
  await Promise.all(Array.from({ length: COUNT }, async (_, i) => {
    const intent = sampleIntent({ text: `n${i}` });
    ids.push(intent.intentId);
    await publisher.publish(IntentSubmitted, intent, { key: `conv-${i % 13}`, trace: newTrace() });
  }));
  return ids;
}

for (const client of ['platformatic', 'kafkajs'] as const) for (const delivery of ['transactional', 'at-least-once'] as const) {
  test(`${client}, ${delivery}: a consumer SIGKILLed between producing and committing redelivers without duplicating the output`, async (t) => {
    const services = await requireServices('kafka', 'registry');
    const config = { ...services, kafka: { ...services.kafka, client } };
    const bus = await createTestBus(t, config);
    const intentIds = await publishIntents(bus);
    const groupId = uniqueName('relay');
    const txId = uniqueName('relay-tx');

    const crashing = startRelay(bus, { GROUP_ID: groupId, DELIVERY: delivery, TX_ID: txId, CRASH_BEFORE_COMMIT: '1' });
    const [exitCode, signal] = await once(crashing.child, 'exit');
    assert.equal(signal, 'SIGKILL', `relay should have killed itself (exit ${exitCode}): ${crashing.output.join(' | ')}`);
    assert.ok(crashing.output.some((line) => line.startsWith('crashing after')));

    const healthy = startRelay(bus, { GROUP_ID: groupId, DELIVERY: delivery, TX_ID: txId });
    t.after(() => { healthy.child.kill('SIGTERM'); });

    const replies = bus.topicName('sentinel.replies');
    if (delivery === 'transactional') {
      const records = await bus.readAll(replies, COUNT, { readCommitted: true, settleMs: 1500 });
      const ids = records.map((r) => r.headers[EVENT_HEADERS.eventId]);
      assert.equal(records.length, COUNT, 'a read_committed reader sees each output exactly once');
      assert.equal(new Set(ids).size, COUNT);
      const uncommitted = await bus.readAll(replies, COUNT, { readCommitted: false, settleMs: 500 });
      assert.ok(uncommitted.length > COUNT, 'the killed transaction did write outputs, which were aborted');
    } else {
      const records = await bus.readAll(replies, COUNT, { settleMs: 1500 });
      const byEventId = new Map<string, string>();
      for (const r of records) {
        const eventId = r.headers[EVENT_HEADERS.eventId]!;
        const causation = r.headers[EVENT_HEADERS.causationId]!;
        assert.equal(byEventId.get(eventId) ?? causation, causation, 'a redelivered record yields the same event id');
        byEventId.set(eventId, causation);
      }
      assert.ok(records.length > COUNT, 'outputs of the killed batch were written twice');
      assert.equal(byEventId.size, COUNT, 'deduplicated by event id, every intent has exactly one output');
    }
    // Every intent was relayed: the key of each reply is its intent id.
    const all = await bus.readAll(replies, COUNT, { readCommitted: true });
    assert.deepEqual(new Set(all.map((r) => r.key!.toString())), new Set(intentIds));
  });
}
