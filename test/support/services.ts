// Runs Sentinel services in the test process against the real infrastructure, isolated per test:
// the test bus's topic prefix, a random Redis key prefix, and an instance id of the test's choosing.
import { randomBytes } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import type { TestContext } from 'node:test';
import { createRuntime, type Runtime, type RuntimeOptions } from '../../src/service/runtime.ts';
import type { TestBus } from './kafka.ts';

export interface ServiceEnv { [name: string]: string }

export function serviceEnv(bus: TestBus, overrides: ServiceEnv = {}): ServiceEnv {
  return {
    ...(process.env as ServiceEnv),
    TOPIC_PREFIX: bus.prefix,
    KAFKA_CLIENT: bus.config.kafka.client,
    LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'silent',
    PORT: '0',
    WS_PORT: '0',
    NODE_ENV: 'test',
    REDIS_KEY_PREFIX: `test:${randomBytes(4).toString('hex')}:`,
    ...overrides,
  };
}

export async function startRuntime(t: TestContext, options: RuntimeOptions, env: ServiceEnv): Promise<Runtime> {
  const runtime = await createRuntime({ ...options, env });
  t.after(() => runtime.shutdown('test finished'));
  return runtime;
}

export function listeningPort(server: { server: { address(): AddressInfo | string | null } }): number {
  const address = server.server.address();
  if (!address || typeof address === 'string') throw new Error('server is not listening');
  return address.port;
}
