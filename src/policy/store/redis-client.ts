// Redis connection for the policy memory, with options that make an unreachable server fail fast
// (so the consumer retries and commits nothing) instead of queueing commands forever.
import { Redis } from 'ioredis';
import { SentinelError } from '../../errors/index.ts';
import type { Config } from '../../config/index.ts';

export function createRedisClient(settings: Config['redis'], options: { connectionName?: string } = {}): Redis {
  const client = new Redis({
    host: settings.host,
    port: settings.port,
    ...(settings.password ? { password: settings.password } : {}),
    connectionName: options.connectionName ?? 'aureus-policy',
    maxRetriesPerRequest: 1,
    connectTimeout: 2000,
    retryStrategy: (attempt) => Math.min(attempt * 200, 2000),
  });
  // Connection errors surface on the commands; without a listener they would also be logged as unhandled.
  client.on('error', () => {});
  return client;
}

const UNAVAILABLE = /ECONNREFUSED|ECONNRESET|ETIMEDOUT|EHOSTUNREACH|ENOTFOUND|EPIPE|Connection is closed|max retries per request|Stream isn't writeable|connect ETIMEDOUT|LOADING|MASTERDOWN|READONLY/i;

/** Maps connection-level failures to SNT_DEPENDENCY_UNAVAILABLE; other errors pass through. */
export function asRedisError(error: unknown): unknown {
  if (error instanceof SentinelError) return error;
  const e = error as { name?: string; code?: string; message?: string };
  if (e.name === 'MaxRetriesPerRequestError' || UNAVAILABLE.test(`${e.code ?? ''} ${e.message ?? ''}`)) {
    return new SentinelError('SNT_DEPENDENCY_UNAVAILABLE', `Redis unavailable: ${e.message ?? String(error)}`, { cause: error });
  }
  return error;
}
