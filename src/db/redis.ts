// Redis adapter: commands fail fast while Redis is away (no offline queue), and such failures
// become SNT_DEPENDENCY_UNAVAILABLE so consumers retry without committing.
import { Redis } from 'ioredis';
import { SentinelError } from '../errors/index.ts';
import type { Config } from '../config/index.ts';

export function createRedis(settings: Config['redis'], options: { lazyConnect?: boolean } = {}): Redis {
  const redis = new Redis({
    host: settings.host,
    port: settings.port,
    password: settings.password || undefined,
    lazyConnect: options.lazyConnect ?? false,
    enableOfflineQueue: false,
    maxRetriesPerRequest: 1,
    connectTimeout: 2000,
    retryStrategy: (attempt) => Math.min(2000, 100 * attempt),
  });
  redis.on('error', () => {}); // reconnects on its own; readiness and callers report the outage
  return redis;
}

export function asRedisError(error: unknown): unknown {
  if (error instanceof SentinelError) return error;
  const message = (error as Error)?.message ?? String(error);
  if (/writeable|offline queue|Connection is closed|ECONNREFUSED|ECONNRESET|ETIMEDOUT|Reached the max retries|connect/i.test(message)) {
    return new SentinelError('SNT_DEPENDENCY_UNAVAILABLE', `Redis unavailable: ${message}`, { cause: error });
  }
  return error;
}

export async function pingRedis(redis: Redis): Promise<void> {
  if (redis.status !== 'ready') throw new Error(`Redis ${redis.status}`);
  await redis.ping();
}
