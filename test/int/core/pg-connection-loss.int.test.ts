// A PostgreSQL connection lost while a client is checked out of the pool (a database restart, a
// terminated backend) must fail that unit of work as "dependency unavailable", never crash the
// process (the driver emits 'error' on the client, and the pool listens only to idle clients),
// and the pool must go on serving with fresh connections.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createPool, withClient, withTransaction } from '../../../src/db/pg.ts';
import { isSentinelError } from '../../../src/errors/index.ts';
import { requireServices } from '../../support/infra.ts';

async function terminate(admin: ReturnType<typeof createPool>, pid: number): Promise<void> {
  const { rows } = await admin.query<{ ok: boolean }>('SELECT pg_terminate_backend($1) AS ok', [pid]);
  assert.equal(rows[0]!.ok, true, 'the backend was terminated');
}

test('a backend terminated between the queries of a transaction: the work fails as unavailable, the process lives, the pool recovers', async (t) => {
  const config = await requireServices('postgres');
  const settings = { ...config.postgres, database: 'postgres' }; // the maintenance database: always there
  const pool = createPool(settings, { max: 2, applicationName: 'sentinel-test-connection-loss' });
  const admin = createPool(settings, { max: 1 });
  t.after(async () => { await pool.end(); await admin.end(); });

  const failure = await withTransaction(pool, async (client) => {
    const { rows } = await client.query<{ pid: number }>('SELECT pg_backend_pid() AS pid');
    await terminate(admin, rows[0]!.pid);
    // Idle between queries while the server ends the session: the driver emits 'error' now.
    await new Promise((resolve) => setTimeout(resolve, 300));
    await client.query('SELECT 1');
  }).then(() => null, (error: unknown) => error);

  assert.ok(failure !== null, 'the transaction failed');
  assert.ok(isSentinelError(failure) && failure.code === 'SNT_DEPENDENCY_UNAVAILABLE', `unavailable, not ${String(failure)}`);
  // Both pooled connections work afterwards: the broken one was destroyed, not pooled again.
  const pids = await Promise.all([1, 2].map(() => withClient(pool, async (client) => (await client.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows[0]!.pid)));
  assert.equal(pids.length, 2);
  assert.equal((await pool.query<{ n: number }>('SELECT 1 AS n')).rows[0]!.n, 1);
});

test('a backend terminated while a checked-out client waits on other work: no crash; the next query fails clearly', async (t) => {
  const config = await requireServices('postgres');
  const settings = { ...config.postgres, database: 'postgres' };
  const pool = createPool(settings, { max: 1 });
  const admin = createPool(settings, { max: 1 });
  t.after(async () => { await pool.end(); await admin.end(); });

  const outcome = await withClient(pool, async (client) => {
    const { rows } = await client.query<{ pid: number }>('SELECT pg_backend_pid() AS pid');
    await terminate(admin, rows[0]!.pid);
    await new Promise((resolve) => setTimeout(resolve, 300));
    return client.query('SELECT 1').then(() => 'answered', (error: Error) => error.message);
  });
  assert.notEqual(outcome, 'answered');
  // The only connection of this pool was replaced.
  assert.equal((await pool.query<{ n: number }>('SELECT 1 AS n')).rows[0]!.n, 1);
});
