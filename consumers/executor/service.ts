// Builds the executor service from a runtime: the key registry (the compacted sentinel.signing-keys
// topic, read in full by this instance), the consumer (group sentinel-executor: approvals → results
// and replies), the handlers, and the HTTP API on :7000. Approvals are processed only once the key
// registry has caught up. Nothing starts until start().
import client from 'prom-client';
import { DEFAULT_MAX_TTL_MS } from '../../src/approval/verify/types.ts';
import { ApprovalSigned, ChannelReplyRequested, ExecutionRecorded, SigningKeyPublished } from '../../src/contracts/events.ts';
import type { ReadinessCheck } from '../../src/http/server.ts';
import { buildHttpServer } from '../../src/http/server.ts';
import { RedisRateLimiter } from '../../src/http/rate-limit.ts';
import { ConsumerRunner, type RunnerOptions } from '../../src/kafka/runner.ts';
import { KeyTopicReader } from '../../src/keyset/reader.ts';
import { runnerMetrics } from '../../src/observability/metrics.ts';
import type { Runtime, RuntimeOptions } from '../../src/service/runtime.ts';
import { boundedBatches } from '../shared/batches.ts';
import { createExecutorHandler } from './handler.ts';
import { defaultHandlers, type HandlerRegistry } from './handlers/index.ts';
import { registerExecutorRoutes } from './http.ts';
import { postgresExecutorStore, type ExecutorStore } from './store.ts';

export const EXECUTOR_GROUP = 'sentinel-executor';
/** The issuer the signer writes into approvals (consumers/signer SIGNER_ISSUER; a unit test keeps them equal). */
export const EXPECTED_ISSUER = 'aureus-bridge';

export const executorRuntimeOptions: RuntimeOptions = {
  service: 'executor',
  reads: [ApprovalSigned, SigningKeyPublished],
  writes: [ExecutionRecorded, ChannelReplyRequested],
  postgres: true,
  redis: true,
  lagGroups: [{ group: EXECUTOR_GROUP, topics: ['sentinel.approvals'] }],
};

export interface ExecutorServiceOverrides {
  clock?: () => number;
  store?: ExecutorStore;
  handlers?: HandlerRegistry;
  delivery?: 'transactional' | 'at-least-once';
  groupId?: string;
  /** Wait for an unknown key id (after a rotation) at most this long; default 3 s. */
  keyRefreshMs?: number;
  openingBalanceMinor?: number;
  beforeCommit?: RunnerOptions['beforeCommit'];
  /** Most records handled (and committed) together; default 250 (consumers/shared/batches.ts). */
  maxBatchMessages?: number;
}

export async function buildExecutorService(runtime: Runtime, overrides: ExecutorServiceOverrides = {}) {
  const { config, logger, metrics } = runtime;
  const clock = overrides.clock ?? Date.now;
  const store = overrides.store ?? postgresExecutorStore(runtime.pg!);
  const groupId = overrides.groupId ?? config.kafka.topicPrefix + EXECUTOR_GROUP;
  const handlers = overrides.handlers ?? defaultHandlers({
    command: { allowlist: config.executor.commandAllowlist, execute: config.executor.commandExecute },
    ...(overrides.openingBalanceMinor === undefined ? {} : { openingBalanceMinor: overrides.openingBalanceMinor }),
  });

  const verified = new client.Counter({ name: 'sentinel_executor_verified_total', help: 'Approvals that passed every verification check', registers: [metrics] });
  const refusals = new client.Counter({ name: 'sentinel_executor_refusals_total', help: 'Approvals refused, by code', labelNames: ['code'], registers: [metrics] });
  const executions = new client.Counter({ name: 'sentinel_executor_executions_total', help: 'Executions by status and action type', labelNames: ['status', 'action'], registers: [metrics] });
  const keyRecords = new client.Gauge({ name: 'sentinel_executor_keys', help: 'Signing keys in the registry', registers: [metrics] });
  const keyRejects = new client.Counter({ name: 'sentinel_executor_key_records_refused_total', help: 'Key records the registry refused', registers: [metrics] });

  const keyReader = new KeyTopicReader({
    messaging: runtime.messaging, admin: runtime.admin, codec: runtime.codec,
    topic: runtime.topicName(SigningKeyPublished.topic),
    groupId: `${config.kafka.topicPrefix}sentinel-executor-keys-${config.instanceId}`,
    logger,
    onRejected: () => keyRejects.inc(),
    onApplied: (registry) => keyRecords.set(registry.entries.size),
  });

  const delivery = (overrides.delivery ?? 'transactional') === 'transactional'
    ? { mode: 'transactional' as const, producer: runtime.messaging.transactionalProducer(`${groupId}:${config.instanceId}`) }
    : { mode: 'at-least-once' as const, producer: runtime.producer };
  const consumer = runtime.messaging.consumer({ groupId, topics: [runtime.topicName(ApprovalSigned.topic)] });
  const runner = new ConsumerRunner({
    groupId,
    subscriptions: [ApprovalSigned],
    consumer: boundedBatches(consumer, overrides.maxBatchMessages),
    codec: runtime.codec,
    topicName: runtime.topicName,
    delivery,
    producerName: runtime.producerName,
    logger,
    metrics: runnerMetrics(metrics, groupId),
    clock,
    ...(overrides.beforeCommit ? { beforeCommit: overrides.beforeCommit } : {}),
    handler: createExecutorHandler({
      store, handlers, clock, logger,
      keys: { registry: () => keyReader.registry, refresh: (ms) => keyReader.catchUp(ms) },
      settings: {
        audience: config.signing.audience,
        issuers: [EXPECTED_ISSUER],
        clockSkewMs: config.executor.clockSkewSeconds * 1000,
        maxTtlMs: Math.max(DEFAULT_MAX_TTL_MS, 3 * config.signing.approvalTtlSeconds * 1000),
        keyRefreshMs: overrides.keyRefreshMs ?? 3000,
      },
      onVerified: (n) => { if (n > 0) verified.inc(n); },
      onRefused: (code) => refusals.inc({ code }),
      onExecuted: (status, action) => executions.inc({ status, action }),
    }),
  });

  const readiness: ReadinessCheck[] = [
    ...runtime.readiness,
    { name: 'key-registry', check: async () => { if (!keyReader.caughtUp) throw new Error('the key registry has not caught up with sentinel.signing-keys yet'); } },
  ];
  const http = buildHttpServer({
    service: 'executor', logger, metrics, apiKeys: config.security.apiKeys, bodyLimitBytes: config.http.bodyLimitBytes,
    rateLimiter: runtime.redis ? new RedisRateLimiter(runtime.redis, config.security.rateLimitMaxRequests, { prefix: `${config.redis.keyPrefix}ratelimit:` }) : undefined,
    readiness,
  });
  registerExecutorRoutes(http, { store });

  const stopping = new AbortController();
  return {
    runner, http, consumer, keyReader, store,
    async start(): Promise<void> {
      await http.listen({ host: config.http.host, port: config.http.port });
      runtime.onShutdown(async () => { await http.close(); });
      runtime.onShutdown(async () => {
        stopping.abort();
        await runner.stop();
        if (delivery.mode === 'transactional') await delivery.producer.close();
        await keyReader.stop();
      });
      keyReader.start();
      await keyReader.waitCaughtUp({ signal: stopping.signal });
      logger.info({ keys: keyReader.registry.entries.size }, 'key registry caught up');
      void runner.start().catch((error: unknown) => {
        logger.fatal({ err: error }, 'executor consumer stopped');
        void runtime.shutdown('consumer failure').then(() => process.exit(1));
      });
      logger.info({ port: config.http.port, group: groupId }, 'executor service started');
    },
  };
}
