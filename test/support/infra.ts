// Where the tests find the real infrastructure: from the environment that scripts/test.sh exports
// (KAFKA_BROKERS, SCHEMA_REGISTRY_URL, POSTGRES_*, REDIS_*). A missing service is a failure, never a skip.
import net from 'node:net';
import { loadConfig, type Config } from '../../src/config/index.ts';

export function testConfig(overrides: Record<string, string> = {}): Config {
  return loadConfig('cli', { ...process.env, LOG_LEVEL: 'silent', ...overrides });
}

function reachable(host: string, port: number, timeoutMs = 2000): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ host, port });
    const done = (ok: boolean) => { socket.destroy(); resolve(ok); };
    socket.setTimeout(timeoutMs, () => done(false));
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
  });
}

/** Fails the test (with the command to fix it) when a service the test needs is not reachable. */
export async function requireServices(...services: Array<'kafka' | 'registry' | 'postgres' | 'redis'>): Promise<Config> {
  const config = testConfig();
  const missing: string[] = [];
  for (const service of services) {
    if (service === 'kafka') {
      const [host, port] = config.kafka.brokers[0]!.split(':');
      if (!(await reachable(host!, Number(port)))) missing.push(`Kafka at ${config.kafka.brokers[0]}`);
    } else if (service === 'registry') {
      const ok = await fetch(`${config.registry.url}/config`, { signal: AbortSignal.timeout(10_000) }).then((r) => r.ok, () => false);
      if (!ok) missing.push(`schema registry at ${config.registry.url}`);
    } else if (service === 'postgres') {
      if (!(await reachable(config.postgres.host, config.postgres.port))) missing.push(`PostgreSQL at ${config.postgres.host}:${config.postgres.port}`);
    } else if (!(await reachable(config.redis.host, config.redis.port))) {
      missing.push(`Redis at ${config.redis.host}:${config.redis.port}`);
    }
  }
  if (missing.length > 0) {
    throw new Error(`required services unreachable: ${missing.join(', ')}. Start them with "bash scripts/infra.sh up" (npm test does).`);
  }
  return config;
}
