// PostgreSQL adapter: one pool per process, and a translation of connection failures into
// SNT_DEPENDENCY_UNAVAILABLE so consumers retry (and commit nothing) while the database is away.
import pg from 'pg';
import { SentinelError } from '../errors/index.ts';
import type { Config } from '../config/index.ts';

export type Pool = pg.Pool;
export type PoolClient = pg.PoolClient;

export function createPool(settings: Config['postgres'], options: { max?: number; applicationName?: string } = {}): pg.Pool {
  const pool = new pg.Pool({
    host: settings.host,
    port: settings.port,
    database: settings.database,
    user: settings.user,
    password: settings.password || undefined,
    max: options.max ?? 10,
    application_name: options.applicationName ?? 'aureus-sentinel',
    connectionTimeoutMillis: 3000,
    idleTimeoutMillis: 30_000,
  });
  // An idle client losing its connection (database restart) must not crash the process.
  pool.on('error', () => {});
  return pool;
}

const UNAVAILABLE_SQLSTATES = new Set(['57P01', '57P02', '57P03', '08000', '08001', '08003', '08006', '53300']);

/** Maps driver-level connection failures to SNT_DEPENDENCY_UNAVAILABLE; other errors pass through. */
export function asDependencyError(error: unknown, what = 'PostgreSQL'): unknown {
  if (error instanceof SentinelError) return error;
  const e = error as { code?: string; message?: string };
  const connectionLost = (e.code !== undefined && (UNAVAILABLE_SQLSTATES.has(e.code) || e.code.startsWith('ECONN') || e.code === 'ETIMEDOUT'))
    || /Connection terminated|connection timeout|Client has encountered a connection error|timeout exceeded when trying to connect/i.test(e.message ?? '');
  return connectionLost
    ? new SentinelError('SNT_DEPENDENCY_UNAVAILABLE', `${what} unavailable: ${e.message ?? String(error)}`, { cause: error })
    : error;
}

/**
 * Runs `work` with a client checked out of the pool. While checked out, a client has no listener
 * for its 'error' event (the pool listens only while it is idle), and the driver emits one when the
 * server goes away (a restart, a terminated backend) even mid-query: unheard, it would crash the
 * process. It is heard here, and a client whose connection failed is destroyed, not pooled again.
 */
export async function withClient<T>(pool: pg.Pool, work: (client: pg.PoolClient) => Promise<T>): Promise<T> {
  let client: pg.PoolClient;
  try {
    client = await pool.connect();
  } catch (error) {
    throw asDependencyError(error);
  }
  let connectionError: Error | undefined;
  const onError = (error: Error) => { connectionError ??= error; };
  client.on('error', onError);
  try {
    return await work(client);
  } finally {
    client.off('error', onError);
    client.release(connectionError);
  }
}

/** Runs `work` in a transaction; rolls back on any error. Connection failures become SNT_DEPENDENCY_UNAVAILABLE. */
export async function withTransaction<T>(pool: pg.Pool, work: (client: pg.PoolClient) => Promise<T>, begin = 'BEGIN'): Promise<T> {
  return withClient(pool, async (client) => {
    try {
      await client.query(begin);
      const result = await work(client);
      await client.query('COMMIT');
      return result;
    } catch (error) {
      await client.query('ROLLBACK').catch(() => {});
      throw asDependencyError(error);
    }
  });
}

/** Creates the database if it does not exist (connects to the maintenance database "postgres"). */
export async function ensureDatabase(settings: Config['postgres']): Promise<void> {
  const admin = new pg.Client({ ...settings, database: 'postgres', password: settings.password || undefined });
  admin.on('error', () => {}); // a lost connection fails the pending query instead
  await admin.connect();
  try {
    const found = await admin.query('SELECT 1 FROM pg_database WHERE datname = $1', [settings.database]);
    if (found.rowCount === 0) {
      await admin.query(`CREATE DATABASE "${settings.database.replaceAll('"', '""')}"`).catch((error: { code?: string }) => {
        if (error.code !== '42P04') throw error; // created concurrently
      });
    }
  } finally {
    await admin.end();
  }
}
