import type { TestContext } from 'node:test';
import { buildPolicyService, policyRuntimeOptions, type PolicyServiceOverrides } from '../../consumers/policy/service.ts';
import { IntentSubmitted, intentKey } from '../../src/contracts/events.ts';
import type { Decision, Intent } from '../../src/domain/types.ts';
import { EventPublisher } from '../../src/kafka/publisher.ts';
import { newTrace, type TraceContext } from '../../src/observability/trace.ts';
import type { EventCodec } from '../../src/serde/codec.ts';
import type { TestBus } from './kafka.ts';
import { listeningPort, serviceEnv, startRuntime, type ServiceEnv } from './services.ts';

export const POLICY_TEST_DB = 'sentinel_test_policy_service';

export async function startPolicyService(t: TestContext, bus: TestBus, env: ServiceEnv = {}, overrides: PolicyServiceOverrides = {}) {
  const runtime = await startRuntime(t, policyRuntimeOptions, serviceEnv(bus, { POSTGRES_DB: POLICY_TEST_DB, ...env }));
  const service = await buildPolicyService(runtime, overrides);
  await service.start();
  return { runtime, service, url: `http://127.0.0.1:${listeningPort(service.http)}` };
}

export async function publishIntent(bus: TestBus, codec: EventCodec, intent: Intent, trace: TraceContext = newTrace()): Promise<TraceContext> {
  const publisher = new EventPublisher({ producer: bus.producer(), codec, topicName: bus.topicName, producerName: 'test' });
  await publisher.publish(IntentSubmitted, intent, { key: intentKey(intent), trace });
  return trace;
}

export type { Decision, ServiceEnv };
