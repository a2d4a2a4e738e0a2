// ConsumerRunner with grouped batches (several partitions fetched together): the partitions are
// handled one after the other by default and at the same time with concurrentPartitions, each
// partition's events in one handler call either way, and all of them are committed in ONE
// transaction with each partition's next offset.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { DecisionMade } from '../../../src/contracts/events.ts';
import { buildMetadata } from '../../../src/contracts/metadata.ts';
import { ConsumerRunner } from '../../../src/kafka/runner.ts';
import type { GroupConsumer, IncomingMessage, OutgoingMessage, PartitionBatch, TopicPartitionOffset, TransactionalProducer } from '../../../src/kafka/types.ts';
import { createLogger } from '../../../src/observability/log.ts';
import { newTrace } from '../../../src/observability/trace.ts';
import type { EventCodec } from '../../../src/serde/codec.ts';
import { testDecision } from '../../support/signer-service.ts';

const TOPIC = 'sentinel.decisions';

// The runner only needs decode/encode here; the Avro framing has its own tests.
const jsonCodec = {
  decode: async (_topic: string, frame: Buffer) => ({ schemaId: 1, value: JSON.parse(frame.toString('utf8')) as Record<string, unknown> }),
  encode: (_topic: string, value: unknown) => Buffer.from(JSON.stringify(value)),
} as unknown as EventCodec;

function record(partition: number, offset: number): IncomingMessage {
  const decision = testDecision(`p${partition}-o${offset}`);
  const metadata = buildMetadata({
    eventId: `e-${partition}-${offset}`, eventType: DecisionMade.eventType, schemaVersion: DecisionMade.schemaVersion,
    producer: 'test', now: 1, trace: newTrace(), causationId: null, correlationId: decision.intentId,
  });
  return {
    topic: TOPIC, partition, offset: String(offset), key: null, headers: {}, timestamp: 1,
    value: Buffer.from(JSON.stringify(DecisionMade.toAvro({ metadata, data: decision }))),
  };
}

function batchOf(partition: number, offsets: number[]): PartitionBatch {
  return {
    topic: TOPIC, partition, messages: offsets.map((o) => record(partition, o)),
    heartbeat: async () => {}, isRunning: () => true, resolveOffset: () => {}, lagAfter: () => undefined,
  };
}

async function runOnce(concurrentPartitions: boolean) {
  const log: string[] = [];
  const commits: Array<{ messages: OutgoingMessage[]; offsets: TopicPartitionOffset[] }> = [];
  const producer: TransactionalProducer = {
    commitBatch: async (messages, offsets) => { commits.push({ messages, offsets }); },
    close: async () => {},
  };
  const consumer: GroupConsumer = {
    run: async () => { throw new Error('grouped batches expected'); },
    runGrouped: async (onBatches) => { await onBatches([batchOf(0, [10, 11]), batchOf(1, [20])]); },
    commit: async () => {}, stop: async () => {}, assignment: () => [], joined: async () => {},
  };
  const runner = new ConsumerRunner({
    groupId: 'g', subscriptions: [DecisionMade], consumer, codec: jsonCodec, topicName: (l) => l,
    delivery: { mode: 'transactional', producer }, producerName: 'test', logger: createLogger({ service: 'test', level: 'silent' }),
    concurrentPartitions,
    handler: async (events, context) => {
      log.push(`start ${context.partition}: ${events.map((e) => e.message.offset).join(',')}`);
      await new Promise((resolve) => setTimeout(resolve, 30));
      log.push(`end ${context.partition}`);
      return events.map(() => ({ outputs: [] }));
    },
  });
  await runner.start();
  return { log, commits };
}

test('grouped partitions are handled one after the other by default, and committed together', async () => {
  const { log, commits } = await runOnce(false);
  assert.deepEqual(log, ['start 0: 10,11', 'end 0', 'start 1: 20', 'end 1']);
  assert.equal(commits.length, 1);
  assert.deepEqual(commits[0]!.offsets.map((o) => `${o.partition}@${o.offset}`), ['0@12', '1@21']);
});

test('with concurrentPartitions the partitions are handled at the same time, still one call each, committed together', async () => {
  const { log, commits } = await runOnce(true);
  assert.deepEqual(log.slice(0, 2).sort(), ['start 0: 10,11', 'start 1: 20']);
  assert.deepEqual(log.slice(2).sort(), ['end 0', 'end 1']);
  assert.equal(commits.length, 1);
  assert.deepEqual(commits[0]!.offsets.map((o) => `${o.partition}@${o.offset}`), ['0@12', '1@21']);
});
