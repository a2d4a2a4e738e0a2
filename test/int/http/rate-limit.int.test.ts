// Rate limits shared across replicas through the real Redis.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { test } from 'node:test';
import { createRedis } from '../../../src/db/redis.ts';
import { RedisRateLimiter } from '../../../src/http/rate-limit.ts';
import { requireServices } from '../../support/infra.ts';
import { waitFor } from '../../support/wait.ts';

test('two replicas share one window: together they allow exactly the limit', async (t) => {
  const config = await requireServices('redis');
  const a = createRedis(config.redis);
  const b = createRedis(config.redis);
  t.after(() => { a.disconnect(); b.disconnect(); });
  await waitFor(() => a.status === 'ready' && b.status === 'ready');
  const prefix = `test:${randomBytes(4).toString('hex')}:`;
  const replicaA = new RedisRateLimiter(a, 10, { prefix });
  const replicaB = new RedisRateLimiter(b, 10, { prefix });
  const decisions = await Promise.all(Array.from({ length: 30 }, (_, i) => (i % 2 ? replicaA : replicaB).consume('caller')));
  assert.equal(decisions.filter((d) => d.allowed).length, 10);
  assert.ok(decisions.every((d) => d.limit === 10 && d.resetSeconds >= 1 && d.resetSeconds <= 60));
  assert.ok((await a.pttl(`${prefix}caller`)) > 0, 'the window expires on its own');
  assert.equal((await replicaA.consume('someone-else')).allowed, true, 'windows are per caller');
});
