// The whole pipeline in the test process, on the real broker, registry, PostgreSQL and Redis:
// channels → policy → signer → executor, sharing one test bus (topic prefix), one database, one
// identity-links file with people unique to the test, and one constitution (with short approval
// deadlines where a test needs them).
import type { TestContext } from 'node:test';
import type { ChannelsServiceOverrides } from '../../producers/channels/service.ts';
import { ExecutionRecorded, HumanApprovalResponded, IntentSubmitted } from '../../src/contracts/events.ts';
import type { ExecutionResult, HumanApprovalResponse } from '../../src/domain/types.ts';
import type { IncomingMessage } from '../../src/kafka/types.ts';
import type { EventCodec } from '../../src/serde/codec.ts';
import { startChannelsService, writeTestConstitution, writeTestIdentities, type TestPeople } from './channels-service.ts';
import { startExecutorService } from './executor-service.ts';
import { requireServices } from './infra.ts';
import { createTestBus } from './kafka.ts';
import { startPolicyService } from './policy-service.ts';
import type { ServiceEnv } from './services.ts';
import { startSignerService } from './signer-service.ts';

export const E2E_DB = 'sentinel_test_e2e';
export const E2E_API_KEY = 'e2e-api-key-0123456789abcdef';

export interface PipelineOptions {
  /** Extra variables for the channels service (bot tokens, API roots). */
  channelsEnv?: ServiceEnv;
  channelsOverrides?: ChannelsServiceOverrides;
  /** Approval deadlines of the test constitution. Default: ops (commands) 8 s, the rest as shipped. */
  within?: Parameters<typeof writeTestConstitution>[1];
}

export async function startPipeline(t: TestContext, options: PipelineOptions = {}) {
  const config = await requireServices('kafka', 'registry', 'postgres', 'redis');
  const bus = await createTestBus(t, config);
  const codec = await bus.codec();
  const people = await writeTestIdentities(t);
  const rules = await writeTestConstitution(t, options.within ?? { ops: '8s' });
  const env: ServiceEnv = {
    POSTGRES_DB: E2E_DB, IDENTITY_LINKS_FILE: people.file, POLICY_RULES_FILE: rules, API_KEY: E2E_API_KEY, RATE_LIMIT_MAX_REQUESTS: '100000',
  };
  // Downstream first, so that every consumer has joined before the first intent.
  const executor = await startExecutorService(t, bus, env);
  const signer = await startSignerService(t, bus, env, { expiryIntervalMs: 500 });
  const policy = await startPolicyService(t, bus, env);
  const channels = await startChannelsService(t, bus, { ...env, ...options.channelsEnv }, { schedulerIntervalMs: 250, ...options.channelsOverrides });
  await Promise.all([
    executor.service.consumer.joined(), signer.service.consumer.joined(), policy.service.consumer.joined(), channels.service.consumer.joined(),
  ]);
  return { config, bus, codec, people, env, executor, signer, policy, channels };
}

export type Pipeline = Awaited<ReturnType<typeof startPipeline>>;

async function decodeAll<T>(codec: EventCodec, records: IncomingMessage[], fromAvro: (v: Record<string, unknown>) => { data: T }): Promise<T[]> {
  return Promise.all(records.map(async (r) => fromAvro((await codec.decode<Record<string, unknown>>(r.topic, r.value!)).value).data));
}

/** Every execution recorded so far (reads the topic from the beginning; waits for at least `atLeast`). */
export async function executions(p: Pick<Pipeline, 'bus' | 'codec'>, atLeast: number, settleMs = 0): Promise<ExecutionResult[]> {
  const records = await p.bus.readAll(p.bus.topicName('sentinel.executions'), atLeast, { timeoutMs: 40_000, settleMs });
  return decodeAll(p.codec, records, (v) => ExecutionRecorded.fromAvro(v));
}

export async function humanResponses(p: Pick<Pipeline, 'bus' | 'codec'>, atLeast: number, settleMs = 0): Promise<HumanApprovalResponse[]> {
  const records = await p.bus.readAll(p.bus.topicName('sentinel.human-approvals'), atLeast, { timeoutMs: 40_000, settleMs });
  return decodeAll(p.codec, records, (v) => HumanApprovalResponded.fromAvro(v));
}

export type { TestPeople };

/** A TCP port free right now on 127.0.0.1 (for services that must know their public URL before listening). */
export async function freePort(): Promise<number> {
  const { createServer } = await import('node:net');
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

/** Distinct answers by response id (the deadline's expiry may be emitted more than once with one id). */
export function distinctResponses(responses: readonly HumanApprovalResponse[]): HumanApprovalResponse[] {
  return [...new Map(responses.map((r) => [r.responseId, r])).values()];
}

/**
 * The distinct answers about this test's requests. Test runs share a database: a deadline timer may
 * emit the expiry of another run's leftover request onto this run's topic, which the signer ignores
 * (it does not know that decision); the test only judges its own.
 */
export async function answersOfThisTest(p: Pick<Pipeline, 'bus' | 'codec'>, intents: number, atLeast: number, settleMs = 0): Promise<HumanApprovalResponse[]> {
  const records = await p.bus.readAll(p.bus.topicName('sentinel.intents'), intents, { timeoutMs: 40_000, settleMs: 500 });
  const ours = new Set((await decodeAll(p.codec, records, (v) => IntentSubmitted.fromAvro(v))).map((i) => i.intentId));
  return distinctResponses((await humanResponses(p, atLeast, settleMs)).filter((r) => ours.has(r.intentId)));
}

/**
 * Starts something that uses a platform fake; if it fails, closes the fake. (The fake's own t.after
 * is registered afterwards: node:test runs after-hooks in registration order, and the adapter must
 * stop before its fake goes away.)
 */
export async function closingOnFailure<T>(fake: { close(): Promise<void> }, start: () => Promise<T>): Promise<T> {
  try {
    return await start();
  } catch (error) {
    await fake.close().catch(() => undefined);
    throw error;
  }
}
