// The audit consumer (group sentinel-audit): records every intent, decision, human answer, signed
// approval, refusal and execution in the hash-chained audit log (PostgreSQL) and on sentinel.audit,
// with checkpoints signed by the key it is given (the signer's: see docs/audit.md §5 for the wiring).
// It runs on its own or inside another service's process; nothing starts until start().
import client from 'prom-client';
import type { Signer, SignerSource } from '../../src/approval/signers/signer.ts';
import { DEFAULT_CHECKPOINT_POLICY, type CheckpointPolicy } from '../../src/audit/chain.ts';
import { AuditStore } from '../../src/audit/store.ts';
import {
  ApprovalSigned, AuditRecorded, DecisionMade, ExecutionRecorded, HumanApprovalResponded, IntentSubmitted,
} from '../../src/contracts/events.ts';
import { ConsumerRunner } from '../../src/kafka/runner.ts';
import { runnerMetrics } from '../../src/observability/metrics.ts';
import { newTrace } from '../../src/observability/trace.ts';
import type { Runtime, RuntimeOptions } from '../../src/service/runtime.ts';
import { createAuditHandler } from './handler.ts';

export const AUDIT_GROUP = 'sentinel-audit';
export const AUDITED_EVENTS = [IntentSubmitted, DecisionMade, HumanApprovalResponded, ApprovalSigned, ExecutionRecorded] as const;

/** What a runtime hosting the audit consumer must read and write (merge into the host's options). */
export const auditRuntimeOptions: Pick<RuntimeOptions, 'reads' | 'writes' | 'postgres' | 'lagGroups'> = {
  reads: [...AUDITED_EVENTS],
  writes: [AuditRecorded],
  postgres: true,
  lagGroups: [{ group: AUDIT_GROUP, topics: AUDITED_EVENTS.map((d) => d.topic) }],
};

export interface AuditServiceOptions {
  /** Signs checkpoints: the signer's key source (KeyManager) or a Signer whose public key is published on sentinel.signing-keys. */
  signer: Signer | SignerSource;
  /** Default: TOPIC_PREFIX + "main". */
  chainId?: string;
  policy?: CheckpointPolicy;
  groupId?: string;
  delivery?: 'transactional' | 'at-least-once';
  clock?: () => number;
}

export async function buildAuditService(runtime: Runtime, options: AuditServiceOptions) {
  const { config, logger, metrics } = runtime;
  if (!runtime.pg) throw new TypeError('the audit consumer needs PostgreSQL (runtime option postgres: true)');
  const chainId = options.chainId ?? `${config.kafka.topicPrefix}main`;
  const policy = options.policy ?? DEFAULT_CHECKPOINT_POLICY;
  const clock = options.clock ?? Date.now;
  const groupId = options.groupId ?? config.kafka.topicPrefix + AUDIT_GROUP;
  const store = new AuditStore(runtime.pg, chainId);
  // Resolve the audit topic's writer schema even when the host runtime did not list AuditRecorded.
  if (runtime.codec.writerSchemaId(runtime.topicName(AuditRecorded.topic)) === undefined) {
    await runtime.codec.useWriter(runtime.topicName(AuditRecorded.topic), AuditRecorded.schemaName, { autoRegister: config.nodeEnv !== 'production' });
  }
  for (const definition of AUDITED_EVENTS) runtime.codec.useReader(runtime.topicName(definition.topic), definition.schemaName);
  const linksTotal = new client.Counter({ name: 'sentinel_audit_links_total', help: 'Links appended to the audit chain', labelNames: ['kind'], registers: [metrics] });

  const delivery = (options.delivery ?? 'transactional') === 'transactional'
    ? { mode: 'transactional' as const, producer: runtime.messaging.transactionalProducer(`${groupId}:${config.instanceId}`) }
    : { mode: 'at-least-once' as const, producer: runtime.producer };
  const consumer = runtime.messaging.consumer({ groupId, topics: AUDITED_EVENTS.map((d) => runtime.topicName(d.topic)) });
  const runner = new ConsumerRunner({
    groupId,
    subscriptions: [...AUDITED_EVENTS],
    consumer,
    codec: runtime.codec,
    topicName: runtime.topicName,
    delivery,
    producerName: runtime.producerName,
    logger,
    metrics: runnerMetrics(metrics, groupId),
    clock,
    handler: createAuditHandler({
      store, signer: options.signer, policy, clock,
      onAppended: (count, checkpoints) => { linksTotal.inc({ kind: 'event' }, count - checkpoints); if (checkpoints > 0) linksTotal.inc({ kind: 'checkpoint' }, checkpoints); },
    }),
  });

  /** Publishes timer checkpoints that are not on the topic yet (after a crash, too). */
  const publishPending = async (): Promise<void> => {
    for (const entry of await store.unpublishedCheckpoints()) {
      await runtime.publisher.publish(AuditRecorded, entry, { key: chainId, trace: newTrace(), eventId: `${chainId}:checkpoint:${entry.sequence}` });
      await store.markPublished(entry.sequence);
    }
  };
  let timer: NodeJS.Timeout | null = null;
  let ticking: Promise<void> | null = null;
  const runTick = async (): Promise<void> => {
    try {
      const taken = await store.checkpointIfDue({ policy, now: clock(), signer: options.signer });
      if (taken) linksTotal.inc({ kind: 'checkpoint' });
      await publishPending();
    } catch (error) {
      logger.warn({ err: error }, 'audit checkpoint timer: will retry');
    }
  };
  /** One timer run at a time: a caller during a run waits for it (no checkpoint is published twice). */
  const tick = (): Promise<void> => (ticking ??= runTick().finally(() => { ticking = null; }));

  return {
    runner, consumer, store, chainId, groupId,
    /** Runs the timer's work once (tests). */
    tick,
    async start(): Promise<void> {
      await publishPending();
      void runner.start().catch((error: unknown) => {
        logger.fatal({ err: error }, 'audit consumer stopped');
        void runtime.shutdown('consumer failure').then(() => process.exit(1));
      });
      timer = setInterval(() => { void tick(); }, Math.max(1000, Math.min(policy.intervalMs, 60_000)));
      timer.unref();
      runtime.onShutdown(async () => {
        if (timer) clearInterval(timer);
        await ticking;
        await runner.stop();
        if (delivery.mode === 'transactional') await delivery.producer.close();
      });
      logger.info({ group: groupId, chainId, checkpointEvery: policy.every, checkpointIntervalMs: policy.intervalMs }, 'audit consumer started');
    },
  };
}
