// Real PostgreSQL and Redis for the policy integration tests: the database sentinel_test_policy
// (created and migrated on first use) and Redis clients whose keys carry a random prefix that is
// deleted afterwards. Unreachable services fail the tests (requireServices), never skip them.
import { randomUUID } from 'node:crypto';
import type { Redis } from 'ioredis';
import type { Config } from '../../src/config/index.ts';
import { createPool, ensureDatabase, type Pool } from '../../src/db/pg.ts';
import { migrate } from '../../src/db/migrate.ts';
import { createRedis as createRedisClient } from '../../src/db/redis.ts';
import { requireServices } from './infra.ts';

export const POLICY_TEST_DATABASE = 'sentinel_test_policy';

/** Where to register clean-up: a test's context (t), or `{ after }` from node:test for a whole file. */
export interface CleanupScope { after(fn: () => unknown): void }

let prepared: Promise<Config> | null = null;

async function prepare(): Promise<Config> {
  const base = await requireServices('postgres', 'redis');
  const config: Config = { ...base, postgres: { ...base.postgres, database: POLICY_TEST_DATABASE } };
  for (let attempt = 1; ; attempt++) {
    try {
      await ensureDatabase(config.postgres);
      break;
    } catch (error) {
      // Two test files creating the database at once: the loser sees a unique violation.
      if ((error as { code?: string }).code !== '23505' || attempt >= 3) throw error;
    }
  }
  const pool = createPool(config.postgres, { max: 1 });
  try {
    await migrate(pool);
  } finally {
    await pool.end();
  }
  return config;
}

/** Config pointing at the migrated test database; fails if PostgreSQL or Redis is unreachable. */
export function policyTestConfig(): Promise<Config> {
  prepared ??= prepare();
  return prepared;
}

export async function policyPool(t: CleanupScope, max = 4): Promise<Pool> {
  const config = await policyTestConfig();
  const pool = createPool(config.postgres, { max, applicationName: 'policy-int-test' });
  t.after(() => pool.end());
  return pool;
}

/** A Redis client and a fresh key prefix; every key under the prefix is deleted after the test. */
export async function policyRedis(t: CleanupScope): Promise<{ redis: Redis; keyPrefix: string }> {
  const config = await policyTestConfig();
  const redis = createRedisClient(config.redis, { connectionName: 'policy-int-test' });
  const keyPrefix = `test:policy:${randomUUID()}`;
  t.after(async () => {
    await deleteKeys(redis, keyPrefix);
    redis.disconnect();
  });
  await redis.ping();
  return { redis, keyPrefix };
}

export async function deleteKeys(redis: Redis, keyPrefix: string): Promise<number> {
  let cursor = '0';
  let deleted = 0;
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', `${keyPrefix}:*`, 'COUNT', 500);
    cursor = next;
    if (keys.length > 0) deleted += await redis.del(...keys);
  } while (cursor !== '0');
  return deleted;
}
