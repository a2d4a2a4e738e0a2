// Builds the signer service ("Bridge") from a runtime: the signing keys (published before use),
// the consumer (group sentinel-signer: decisions and human answers → signed approvals and
// replies), the deadline timer, and the HTTP API on :3000. Nothing starts until start().
import { randomBytes } from 'node:crypto';
import type { KMSClient } from '@aws-sdk/client-kms';
import client from 'prom-client';
import type { RoleMembers } from '../../src/approval/authorize.ts';
import { rotationPolicyFromDays } from '../../src/approval/keys/rotation.ts';
import { DEFAULT_MAX_TTL_MS } from '../../src/approval/verify/types.ts';
import { loadIdentityLinks } from '../../src/channels/identity/links.ts';
import {
  ApprovalSigned, ChannelReplyRequested, DecisionMade, HumanApprovalResponded, SigningKeyPublished,
} from '../../src/contracts/events.ts';
import { buildHttpServer } from '../../src/http/server.ts';
import { RedisRateLimiter } from '../../src/http/rate-limit.ts';
import { ConsumerRunner, type RunnerOptions } from '../../src/kafka/runner.ts';
import { runnerMetrics } from '../../src/observability/metrics.ts';
import { newTrace } from '../../src/observability/trace.ts';
import type { Runtime, RuntimeOptions } from '../../src/service/runtime.ts';
import { boundedBatches } from '../shared/batches.ts';
import { startExpirySweeper } from './expiry.ts';
import { SIGNER_ISSUER, createSignerHandler, type SigningSettings } from './handler.ts';
import { registerSignerRoutes } from './http.ts';
import { KeyManager } from './keys.ts';
import { postgresSignerStore, type SignerStore } from './store.ts';

export const SIGNER_GROUP = 'sentinel-signer';

export const signerRuntimeOptions: RuntimeOptions = {
  service: 'signer',
  reads: [DecisionMade, HumanApprovalResponded],
  writes: [ApprovalSigned, ChannelReplyRequested, SigningKeyPublished, HumanApprovalResponded],
  postgres: true,
  redis: true,
  lagGroups: [{ group: SIGNER_GROUP, topics: ['sentinel.decisions', 'sentinel.human-approvals'] }],
};

export interface SignerServiceOverrides {
  clock?: () => number;
  roles?: RoleMembers;
  store?: SignerStore;
  kmsClient?: KMSClient;
  delivery?: 'transactional' | 'at-least-once';
  groupId?: string;
  /** Run the consumer (default true; the POST /sign benchmark seeds decisions without it). */
  consume?: boolean;
  expiryIntervalMs?: number;
  rotationCheckIntervalMs?: number;
  delegationValidityMs?: number;
  beforeCommit?: RunnerOptions['beforeCommit'];
  /** Most records handled (and committed) together; default 250 (consumers/shared/batches.ts). */
  maxBatchMessages?: number;
}

/** 16-byte nonces (unpadded base64url) from the CSPRNG, drawn 8 KiB at a time. */
export function noncePool(): () => string {
  let pool = Buffer.alloc(0);
  let offset = 0;
  return () => {
    if (offset + 16 > pool.length) {
      pool = randomBytes(16 * 512);
      offset = 0;
    }
    const nonce = pool.toString('base64url', offset, offset + 16);
    pool.fill(0, offset, offset + 16);
    offset += 16;
    return nonce;
  };
}

export async function buildSignerService(runtime: Runtime, overrides: SignerServiceOverrides = {}) {
  const { config, logger, metrics } = runtime;
  const clock = overrides.clock ?? Date.now;
  const store = overrides.store ?? postgresSignerStore(runtime.pg!);
  const roles: RoleMembers = overrides.roles ?? Object.fromEntries((await loadIdentityLinks(config.identityLinksFile)).roles);
  const groupId = overrides.groupId ?? config.kafka.topicPrefix + SIGNER_GROUP;
  const settings: SigningSettings = { audience: config.signing.audience, issuer: SIGNER_ISSUER, ttlMs: config.signing.approvalTtlSeconds * 1000 };
  const nonce = noncePool();

  const signatures = new client.Counter({ name: 'sentinel_signer_signatures_total', help: 'Approvals signed, by key origin and path', labelNames: ['origin', 'via'], registers: [metrics] });
  const refusals = new client.Counter({ name: 'sentinel_signer_refusals_total', help: 'Human answers and signing requests refused, by code', labelNames: ['code'], registers: [metrics] });
  const rotations = new client.Counter({ name: 'sentinel_signer_key_rotations_total', help: 'Signing key rotations by reason', labelNames: ['reason'], registers: [metrics] });
  new client.Gauge({
    name: 'sentinel_signer_pending_approvals', help: 'Requests waiting for human approval', registers: [metrics],
    async collect() { try { this.set(await store.pendingCount()); } catch { /* PostgreSQL down: /ready says so */ } },
  });

  const keys = await KeyManager.start({
    signing: config.signing, store, policy: rotationPolicyFromDays(config.signing.rotationDays), clock, logger,
    publish: async (record) => { await runtime.publisher.publish(SigningKeyPublished, record, { key: record.keyId, trace: newTrace() }); },
    onRotated: (reason) => rotations.inc({ reason }),
    ...(overrides.kmsClient ? { kmsClient: overrides.kmsClient } : {}),
    ...(overrides.delegationValidityMs ? { delegationValidityMs: overrides.delegationValidityMs } : {}),
  });
  new client.Gauge({
    name: 'sentinel_signer_key_age_seconds', help: 'Age of the signing key now in use', labelNames: ['origin'], registers: [metrics],
    collect() { const r = keys.root.record; this.reset(); this.set({ origin: r.origin }, Math.max(0, (clock() - r.notBefore) / 1000)); },
  });
  await keys.rotate(false); // due at start-up (e.g. a key file older than KEY_ROTATION_DAYS)?

  const onSigned = (signer: { origin: string }, via: 'consumer' | 'http') => signatures.inc({ origin: signer.origin, via });
  const delivery = (overrides.delivery ?? 'transactional') === 'transactional'
    ? { mode: 'transactional' as const, producer: runtime.messaging.transactionalProducer(`${groupId}:${config.instanceId}`) }
    : { mode: 'at-least-once' as const, producer: runtime.producer };
  const consumer = runtime.messaging.consumer({ groupId, topics: [runtime.topicName(DecisionMade.topic), runtime.topicName(HumanApprovalResponded.topic)] });
  const runner = new ConsumerRunner({
    groupId,
    subscriptions: [DecisionMade, HumanApprovalResponded],
    consumer: boundedBatches(consumer, overrides.maxBatchMessages),
    codec: runtime.codec,
    topicName: runtime.topicName,
    delivery,
    producerName: runtime.producerName,
    logger,
    metrics: runnerMetrics(metrics, groupId),
    clock,
    // Safe: each handler call locks its decisions in PostgreSQL (sorted, so calls cannot deadlock).
    concurrentPartitions: true,
    ...(overrides.beforeCommit ? { beforeCommit: overrides.beforeCommit } : {}),
    handler: createSignerHandler({
      store, keys, settings, roles: () => roles, clock, nonce, onSigned,
      onRefusal: (r) => refusals.inc({ code: r.code }),
      onSignRefused: (code) => refusals.inc({ code }),
    }),
  });

  const http = buildHttpServer({
    service: 'signer', logger, metrics, apiKeys: config.security.apiKeys, bodyLimitBytes: config.http.bodyLimitBytes,
    rateLimiter: runtime.redis ? new RedisRateLimiter(runtime.redis, config.security.rateLimitMaxRequests, { prefix: `${config.redis.keyPrefix}ratelimit:` }) : undefined,
    readiness: runtime.readiness,
  });
  registerSignerRoutes(http, {
    store, keys, settings, roles: () => roles, clock, nonce, onSigned,
    clockSkewMs: config.executor.clockSkewSeconds * 1000,
    maxTtlMs: Math.max(DEFAULT_MAX_TTL_MS, 3 * settings.ttlMs),
  });

  const expiry = startExpirySweeper({ store, publisher: runtime.publisher, clock, intervalMs: overrides.expiryIntervalMs ?? 5000, logger });
  keys.startTimer(overrides.rotationCheckIntervalMs ?? 10_000);

  return {
    runner, http, consumer, keys, store, expiry,
    async start(): Promise<void> {
      await http.listen({ host: config.http.host, port: config.http.port });
      if (overrides.consume !== false) {
        void runner.start().catch((error: unknown) => {
          logger.fatal({ err: error }, 'signer consumer stopped');
          void runtime.shutdown('consumer failure').then(() => process.exit(1));
        });
      }
      runtime.onShutdown(async () => { await http.close(); });
      runtime.onShutdown(async () => {
        expiry.stop();
        keys.stop();
        await runner.stop();
        if (delivery.mode === 'transactional') await delivery.producer.close();
      });
      logger.info({ port: config.http.port, group: groupId, keyId: keys.currentRecord().keyId, mode: keys.mode }, 'signer service started');
    },
  };
}
