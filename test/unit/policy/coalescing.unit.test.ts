// The HTTP API's context loader: requests arriving together share one loadMany, each gets its own
// context back (in order), with the time the batch was loaded at; a failure reaches every request
// of its batch and not the next batch.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { EpochMillis, Intent } from '../../../src/domain/types.ts';
import { CoalescingContextLoader } from '../../../src/policy/store/coalescing.ts';
import type { LoadedContext } from '../../../src/policy/store/types.ts';
import { calmContext, command, intentFor, NOW } from '../../support/policy-fixtures.ts';

function recordingStore(options: { failOnCall?: number } = {}) {
  const calls: Array<{ intentIds: string[]; now: EpochMillis }> = [];
  return {
    calls,
    async loadMany(intents: readonly Intent[], now: EpochMillis): Promise<LoadedContext[]> {
      calls.push({ intentIds: intents.map((i) => i.intentId), now });
      await new Promise((resolve) => setTimeout(resolve, 5));
      if (options.failOnCall === calls.length) throw new Error('database away');
      return intents.map((i) => ({ context: calmContext({ userDecisionsTotal: Number(i.requester.userId.slice(2)) }), previous: null }));
    },
  };
}

const intents = (n: number, from = 0) => Array.from({ length: n }, (_, i) => intentFor(command('uptime'), { userId: `u-${from + i}` }));

test('requests made in the same turn share one load; each gets its own context, in order, with the batch time', async () => {
  const store = recordingStore();
  let clock = NOW;
  const loader = new CoalescingContextLoader(store, () => clock);
  const batch = intents(5);
  const pending = batch.map((i) => loader.load(i));
  clock = NOW + 7; // the batch is loaded after this turn: its time is the clock then
  const results = await Promise.all(pending);
  assert.equal(store.calls.length, 1);
  assert.deepEqual(store.calls[0]!.intentIds, batch.map((i) => i.intentId));
  assert.deepEqual(results.map((r) => r.loaded.context.userDecisionsTotal), [0, 1, 2, 3, 4]);
  assert.ok(results.every((r) => r.now === NOW + 7));
});

test('a load made while a batch is in flight goes into the next batch; maxBatch splits a burst', async () => {
  const store = recordingStore();
  const loader = new CoalescingContextLoader(store, () => NOW, { maxBatch: 3 });
  const first = intents(7).map((i) => loader.load(i));
  await new Promise((resolve) => setImmediate(resolve));
  const later = loader.load(intents(1, 100)[0]!);
  const all = await Promise.all([...first, later]);
  assert.deepEqual(store.calls.map((c) => c.intentIds.length), [3, 3, 1, 1]);
  assert.equal(all.at(-1)!.loaded.context.userDecisionsTotal, 100);
});

test('a failed load fails every request of its batch, and only those', async () => {
  const store = recordingStore({ failOnCall: 1 });
  const loader = new CoalescingContextLoader(store, () => NOW);
  const failed = await Promise.allSettled(intents(3).map((i) => loader.load(i)));
  assert.deepEqual(failed.map((r) => r.status), ['rejected', 'rejected', 'rejected']);
  assert.match(String((failed[0] as PromiseRejectedResult).reason), /database away/);
  const next = await loader.load(intents(1, 9)[0]!);
  assert.equal(next.loaded.context.userDecisionsTotal, 9);
});

test('a store answering with the wrong number of contexts is an error, not a misattribution', async () => {
  const loader = new CoalescingContextLoader({ loadMany: async () => [] }, () => NOW);
  await assert.rejects(loader.load(intents(1)[0]!), /returned 0 contexts for 1 intents/);
});
