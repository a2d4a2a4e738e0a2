// Redis hot counters: exact under two replicas recording at once, idempotent by decision id, keys
// laid out per user with expiry, surviving a script cache flush, and failing fast when Redis is away.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { test } from 'node:test';
import type { Decision } from '../../../src/domain/types.ts';
import { isSentinelError } from '../../../src/errors/index.ts';
import { utcDay } from '../../../src/policy/context.ts';
import { decide } from '../../../src/policy/decide.ts';
import { deriveDecisionId } from '../../../src/policy/ids.ts';
import { createRedis as createRedisClient } from '../../../src/db/redis.ts';
import { RedisCounterStore } from '../../../src/policy/store/redis-counters.ts';
import { calmContext, DAY, defaultRuleSet, email, HOUR, intentFor, MINUTE, NOW, transfer } from '../../support/policy-fixtures.ts';
import { policyRedis, policyTestConfig } from '../../support/policy-infra.ts';

async function decisionFor(action: Parameters<typeof intentFor>[0], userId: string, at: number, outcome?: Decision['outcome']): Promise<Decision> {
  const intent = intentFor(action, { userId });
  const d = decide(intent, calmContext(), await defaultRuleSet(), { now: at, decisionId: deriveDecisionId(intent.intentId) });
  return outcome === undefined ? d : { ...d, outcome };
}

test('two replicas recording overlapping batches at once count every decision exactly once', async (t) => {
  const { redis: clientA, keyPrefix } = await policyRedis(t);
  const { redis: clientB } = await policyRedis(t);
  const [a, b] = [new RedisCounterStore(clientA, { keyPrefix }), new RedisCounterStore(clientB, { keyPrefix })];
  const userId = `u-${randomUUID()}`;
  const decisions = await Promise.all(Array.from({ length: 120 }, (_, i) => decisionFor(transfer(1_000 + i, 'P'), userId, NOW - (i % 50) * 1000, 'allow')));
  const expectedMinor = decisions.reduce((sum, d) => sum + (d.action.type === 'transfer' ? d.action.amountMinor : 0), 0);
  // A takes them in order in batches of 10, B in reverse in batches of 7: every decision is offered twice, concurrently.
  const batches = (list: Decision[], size: number) => Array.from({ length: Math.ceil(list.length / size) }, (_, i) => list.slice(i * size, (i + 1) * size));
  const counts = await Promise.all([
    ...batches(decisions, 10).map((batch) => a.record(batch)),
    ...batches([...decisions].reverse(), 7).map((batch) => b.record(batch)),
  ]);
  assert.equal(counts.reduce((x, y) => x + y, 0), 120);
  const [facts] = await b.loadMany([intentFor(transfer(1), { userId })], NOW);
  assert.deepEqual(facts, { transferredTodayMinor: expectedMinor, transfersToday: 120, actionsLast10Min: 120, actionsLastHour: 120, denialsLast24h: 0 });
  assert.equal(await a.record(decisions), 0, 'a full redelivery counts nothing');
});

test('keys: one hash per user and UTC day, sorted sets for windows, markers per decision, all with expiry', async (t) => {
  const { redis, keyPrefix } = await policyRedis(t);
  const store = new RedisCounterStore(redis, { keyPrefix });
  const userId = `odd{user}-${randomUUID()}\uD800`;
  const allowed = await decisionFor(transfer(2_500, 'P', 'EUR'), userId, NOW, 'allow');
  const denied = await decisionFor(email('x@example.com'), userId, NOW - MINUTE, 'deny');
  assert.equal(await store.record([allowed, denied]), 2);
  const user = `${keyPrefix}:{${encodeURIComponent(userId.toWellFormed())}}`;
  assert.ok(!user.slice(user.indexOf('{') + 1).includes('{'), 'braces of the user id are escaped out of the hash tag');
  assert.deepEqual(await redis.hgetall(`${user}:day:${utcDay(NOW)}`), { 'EUR:minor': '2500', 'EUR:count': '1' });
  assert.deepEqual(await redis.zrange(`${user}:actions`, 0, -1, 'WITHSCORES'), [denied.decisionId, String(NOW - MINUTE), allowed.decisionId, String(NOW)]);
  assert.deepEqual(await redis.zrange(`${user}:denials`, 0, -1), [denied.decisionId]);
  for (const key of [`${user}:day:${utcDay(NOW)}`, `${user}:actions`, `${user}:denials`, `${user}:decided:${allowed.decisionId}`]) {
    const ttl = await redis.pttl(key);
    assert.ok(ttl > HOUR && ttl <= 7 * DAY, `${key} expires (pttl ${ttl})`);
  }
});

test('window sets are trimmed as newer decisions arrive', async (t) => {
  const { redis, keyPrefix } = await policyRedis(t);
  const store = new RedisCounterStore(redis, { keyPrefix });
  const userId = `u-${randomUUID()}`;
  await store.record([await decisionFor(transfer(1), userId, NOW - 3 * HOUR, 'deny'), await decisionFor(transfer(1), userId, NOW - 26 * HOUR, 'deny')]);
  await store.record([await decisionFor(transfer(1), userId, NOW, 'allow')]);
  const user = `${keyPrefix}:{${encodeURIComponent(userId)}}`;
  assert.equal(await redis.zcard(`${user}:actions`), 1, 'actions older than an hour are dropped');
  assert.equal(await redis.zcard(`${user}:denials`), 2, 'denials are only trimmed by a newer denial');
  await store.record([await decisionFor(transfer(1), userId, NOW, 'deny')]);
  assert.equal(await redis.zcard(`${user}:denials`), 2, 'the 26-hour-old denial is dropped');
});

test('recording still works after Redis forgets its scripts (SCRIPT FLUSH)', async (t) => {
  const { redis, keyPrefix } = await policyRedis(t);
  const store = new RedisCounterStore(redis, { keyPrefix });
  const userId = `u-${randomUUID()}`;
  await store.record([await decisionFor(transfer(10), userId, NOW, 'allow')]);
  await redis.script('FLUSH');
  await store.record([await decisionFor(transfer(20), userId, NOW, 'allow')]);
  const [facts] = await store.loadMany([intentFor(transfer(1), { userId })], NOW);
  assert.equal(facts!.transferredTodayMinor, 30);
});

test('an unreachable Redis is SNT_DEPENDENCY_UNAVAILABLE (retriable), not a hang', async () => {
  const config = await policyTestConfig();
  const redis = createRedisClient({ ...config.redis, port: 1 });
  try {
    const store = new RedisCounterStore(redis, { keyPrefix: 'unreachable' });
    const started = Date.now();
    await assert.rejects(store.loadMany([intentFor(transfer(1))], NOW), (error: unknown) => isSentinelError(error, 'SNT_DEPENDENCY_UNAVAILABLE') && error.retriable);
    await assert.rejects(store.record([await decisionFor(transfer(1), 'u', NOW)]), (error: unknown) => isSentinelError(error, 'SNT_DEPENDENCY_UNAVAILABLE'));
    assert.ok(Date.now() - started < 10_000);
  } finally {
    redis.disconnect();
  }
});
