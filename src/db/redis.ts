// Redis adapter: while Redis is away a command waits for at most one reconnection attempt and then
// fails (maxRetriesPerRequest 1), and such failures become SNT_DEPENDENCY_UNAVAILABLE so consumers
// retry without committing. Commands issued before the first connection simply wait for it.
import { Redis } from 'ioredis';
import { SentinelError } from '../errors/index.ts';
import type { Config } from '../config/index.ts';

export function createRedis(settings: Pick<Config['redis'], 'host' | 'port' | 'password'>, options: { lazyConnect?: boolean; connectionName?: string } = {}): Redis {
  const redis = new Redis({
    host: settings.host,
    port: settings.port,
    password: settings.password || undefined,
    connectionName: options.connectionName ?? 'aureus-sentinel',
    lazyConnect: options.lazyConnect ?? false,
    maxRetriesPerRequest: 1,
    connectTimeout: 2000,
    retryStrategy: (attempt) => Math.min(2000, 100 * attempt),
  });
  redis.on('error', () => {}); // reconnects on its own; readiness and callers report the outage
  return redis;
}

const UNAVAILABLE = /ECONNREFUSED|ECONNRESET|ETIMEDOUT|EHOSTUNREACH|ENOTFOUND|EPIPE|Connection is closed|max retries per request|Stream isn't writeable|offline queue|LOADING|MASTERDOWN|READONLY/i;

/** Maps connection-level failures to SNT_DEPENDENCY_UNAVAILABLE; other errors pass through. */
export function asRedisError(error: unknown): unknown {
  if (error instanceof SentinelError) return error;
  const e = error as { name?: string; code?: string; message?: string };
  if (e.name === 'MaxRetriesPerRequestError' || UNAVAILABLE.test(`${e.code ?? ''} ${e.message ?? ''}`)) {
    return new SentinelError('SNT_DEPENDENCY_UNAVAILABLE', `Redis unavailable: ${e.message ?? String(error)}`, { cause: error });
  }
  return error;
}

export async function pingRedis(redis: Redis): Promise<void> {
  if (redis.status !== 'ready') throw new Error(`Redis ${redis.status}`);
  await redis.ping();
}
