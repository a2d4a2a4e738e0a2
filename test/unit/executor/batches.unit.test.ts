import assert from 'node:assert/strict';
import { test } from 'node:test';
import { boundedBatches } from '../../../consumers/shared/batches.ts';
import type { GroupConsumer, IncomingMessage, PartitionBatch } from '../../../src/kafka/types.ts';

test('boundedBatches hands a partition batch over in slices, in offset order, and stops when the consumer stops', async () => {
  const messages = Array.from({ length: 7 }, (_, i) => ({ offset: String(i) }) as IncomingMessage);
  let running = true;
  const inner: GroupConsumer = {
    run: async (onBatch) => {
      await onBatch({ topic: 't', partition: 0, messages, heartbeat: async () => {}, isRunning: () => running, resolveOffset: () => {}, lagAfter: () => undefined });
    },
    commit: async () => {}, stop: async () => {}, assignment: () => [], joined: async () => {},
  };
  const seen: string[][] = [];
  await boundedBatches(inner, 3).run(async (batch: PartitionBatch) => { seen.push(batch.messages.map((m) => m.offset)); });
  assert.deepEqual(seen, [['0', '1', '2'], ['3', '4', '5'], ['6']]);
  const stopped: string[][] = [];
  await boundedBatches(inner, 3).run(async (batch) => { stopped.push(batch.messages.map((m) => m.offset)); running = false; });
  assert.deepEqual(stopped, [['0', '1', '2']]);
  assert.throws(() => boundedBatches(inner, 0), RangeError);
});

test('boundedBatches groups slices of several partitions up to the bound, never two slices of one partition in a group, in offset order', async () => {
  const batch = (partition: number, count: number): PartitionBatch => ({
    topic: 't', partition, messages: Array.from({ length: count }, (_, i) => ({ offset: String(i) }) as IncomingMessage),
    heartbeat: async () => {}, isRunning: () => true, resolveOffset: () => {}, lagAfter: () => undefined,
  });
  const inner: GroupConsumer = {
    run: async () => { throw new Error('not used'); },
    runGrouped: async (onBatches) => { await onBatches([batch(0, 2), batch(1, 5), batch(2, 1)]); },
    commit: async () => {}, stop: async () => {}, assignment: () => [], joined: async () => {},
  };
  const groups: string[][] = [];
  await boundedBatches(inner, 3).runGrouped!(async (batches) => {
    groups.push(batches.map((b) => `${b.partition}:${b.messages.map((m) => m.offset).join(',')}`));
  });
  assert.deepEqual(groups, [['0:0,1'], ['1:0,1,2'], ['1:3,4', '2:0']]);
  const plain: GroupConsumer = { ...inner, runGrouped: undefined };
  assert.equal(boundedBatches(plain, 3).runGrouped, undefined, 'a consumer without grouped batches stays per partition');
});
