// Builds the policy service ("Aureus OS") from a runtime: the consumer (group sentinel-policy,
// intents → decisions + replies) and the HTTP API on :5000. Nothing starts until start().
import client from 'prom-client';
import { recordConstitution } from '../../src/audit/constitutions.ts';
import { ChannelReplyRequested, DecisionMade, IntentSubmitted } from '../../src/contracts/events.ts';
import { buildHttpServer } from '../../src/http/server.ts';
import { RedisRateLimiter } from '../../src/http/rate-limit.ts';
import { ConsumerRunner } from '../../src/kafka/runner.ts';
import { runnerMetrics } from '../../src/observability/metrics.ts';
import { createPolicyContextStore, loadRuleSet, PostgresHistoryStore, type CompiledRuleSet, type ContextStore } from '../../src/policy/index.ts';
import type { Runtime, RuntimeOptions } from '../../src/service/runtime.ts';
import { createPolicyHandler } from './handler.ts';
import { registerPolicyRoutes } from './http.ts';
import { postgresContextNotes } from './notes.ts';

export const POLICY_GROUP = 'sentinel-policy';

export const policyRuntimeOptions: RuntimeOptions = {
  service: 'policy',
  reads: [IntentSubmitted],
  writes: [DecisionMade, ChannelReplyRequested],
  postgres: true,
  redis: true,
  lagGroups: [{ group: POLICY_GROUP, topics: ['sentinel.intents'] }],
};

export interface PolicyServiceOverrides {
  ruleSet?: CompiledRuleSet;
  store?: ContextStore;
  clock?: () => number;
  delivery?: 'transactional' | 'at-least-once';
  groupId?: string;
}

export async function buildPolicyService(runtime: Runtime, overrides: PolicyServiceOverrides = {}) {
  const { config, logger, metrics } = runtime;
  const ruleSet = overrides.ruleSet ?? await loadRuleSet(config.policy.rulesFile);
  logger.info({ version: ruleSet.version, digest: ruleSet.digest, rules: ruleSet.rules.length }, 'constitution loaded');
  await recordConstitution(runtime.pg!, ruleSet); // replay re-evaluates each decision with the rules its digest names
  const store = overrides.store ?? createPolicyContextStore({ pool: runtime.pg!, redis: runtime.redis!, policy: config.policy, keyPrefix: `${config.redis.keyPrefix}policy` });
  const clock = overrides.clock ?? Date.now;
  const groupId = overrides.groupId ?? config.kafka.topicPrefix + POLICY_GROUP;
  const decisionsTotal = new client.Counter({ name: 'sentinel_policy_decisions_total', help: 'Decisions by outcome and risk tier', labelNames: ['outcome', 'tier', 'replayed'], registers: [metrics] });

  const delivery = (overrides.delivery ?? 'transactional') === 'transactional'
    ? { mode: 'transactional' as const, producer: runtime.messaging.transactionalProducer(`${groupId}:${config.instanceId}`) }
    : { mode: 'at-least-once' as const, producer: runtime.producer };
  const consumer = runtime.messaging.consumer({ groupId, topics: [runtime.topicName(IntentSubmitted.topic)] });
  const runner = new ConsumerRunner({
    groupId,
    subscriptions: [IntentSubmitted],
    consumer,
    codec: runtime.codec,
    topicName: runtime.topicName,
    delivery,
    producerName: runtime.producerName,
    logger,
    metrics: runnerMetrics(metrics, groupId),
    clock,
    handler: createPolicyHandler({
      ruleSet: () => ruleSet, store, clock,
      onDecision: (d, replayed) => decisionsTotal.inc({ outcome: d.outcome, tier: d.risk.tier, replayed: String(replayed) }),
    }),
  });

  const http = buildHttpServer({
    service: 'policy', logger, metrics, apiKeys: config.security.apiKeys, bodyLimitBytes: config.http.bodyLimitBytes,
    rateLimiter: runtime.redis ? new RedisRateLimiter(runtime.redis, config.security.rateLimitMaxRequests, { prefix: `${config.redis.keyPrefix}ratelimit:` }) : undefined,
    readiness: runtime.readiness,
  });
  registerPolicyRoutes(http, {
    ruleSet: () => ruleSet, store, clock,
    history: new PostgresHistoryStore(runtime.pg!),
    notes: postgresContextNotes(runtime.pg!),
  });

  return {
    runner, http, consumer, ruleSet,
    async start(): Promise<void> {
      await http.listen({ host: config.http.host, port: config.http.port });
      void runner.start().catch((error: unknown) => {
        logger.fatal({ err: error }, 'policy consumer stopped');
        void runtime.shutdown('consumer failure').then(() => process.exit(1));
      });
      runtime.onShutdown(async () => { await http.close(); });
      runtime.onShutdown(async () => { await runner.stop(); if (delivery.mode === 'transactional') await delivery.producer.close(); });
      logger.info({ port: config.http.port, group: groupId }, 'policy service started');
    },
  };
}
