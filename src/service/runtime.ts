// What every Sentinel service process shares: validated config, JSON logs, metrics, the messaging
// client, the schema registry and codec, PostgreSQL and Redis when needed, readiness checks, and
// a graceful shutdown on SIGTERM/SIGINT (stop consuming after the batch in flight, commit, leave
// the group, close servers and pools). main.ts files only wire a service's parts into it.
import type { Redis } from 'ioredis';
import { loadConfig, type Config, type ServiceName } from '../config/index.ts';
import type { EventDefinition } from '../contracts/events.ts';
import { createPool, ensureDatabase, type Pool } from '../db/pg.ts';
import { migrate } from '../db/migrate.ts';
import { createRedis, pingRedis } from '../db/redis.ts';
import { createMessaging, type Messaging } from '../kafka/client.ts';
import { EventPublisher } from '../kafka/publisher.ts';
import type { MessageProducer, MessagingAdmin } from '../kafka/types.ts';
import type { ReadinessCheck } from '../http/server.ts';
import { createLogger, type Logger } from '../observability/log.ts';
import { brokerLagGauge, createMetricsRegistry, type Registry } from '../observability/metrics.ts';
import { loadCatalog } from '../serde/catalog.ts';
import { EventCodec } from '../serde/codec.ts';
import { HttpSchemaRegistry } from '../serde/registry.ts';

export interface RuntimeOptions {
  service: ServiceName;
  /** Events this process writes (their writer schema ids are resolved at start-up). */
  writes: ReadonlyArray<EventDefinition<any>>;
  /** Events this process reads. */
  reads: ReadonlyArray<EventDefinition<any>>;
  postgres?: boolean;
  redis?: boolean;
  /** Consumer groups (logical names, TOPIC_PREFIX is applied) whose lag this process exports on /metrics. */
  lagGroups?: Array<{ group: string; topics: string[] }>;
  env?: Readonly<Record<string, string | undefined>>;
  /** Register schemas that are missing (development convenience; production runs `sentinel schemas register`). */
  autoRegisterSchemas?: boolean;
}

export interface Runtime {
  config: Config;
  logger: Logger;
  metrics: Registry;
  messaging: Messaging;
  admin: MessagingAdmin;
  registry: HttpSchemaRegistry;
  codec: EventCodec;
  producer: MessageProducer;
  publisher: EventPublisher;
  pg: Pool | null;
  redis: Redis | null;
  readiness: ReadinessCheck[];
  producerName: string;
  topicName(logical: string): string;
  /** Registers cleanup run at shutdown, in reverse order of registration. */
  onShutdown(close: () => Promise<void>): void;
  shutdown(reason: string): Promise<void>;
}

export async function createRuntime(options: RuntimeOptions): Promise<Runtime> {
  const config = loadConfig(options.service, options.env);
  const logger = createLogger({ service: options.service, level: config.logLevel, instanceId: config.instanceId });
  const metrics = createMetricsRegistry(options.service, config.instanceId);
  const messaging = createMessaging({ brokers: config.kafka.brokers, clientId: `${config.kafka.clientId}-${options.service}`, client: config.kafka.client, logger });
  const admin = messaging.admin();
  const registry = new HttpSchemaRegistry(config.registry.url);
  const codec = new EventCodec(registry, loadCatalog());
  const topicName = (logical: string) => config.kafka.topicPrefix + logical;
  const closers: Array<() => Promise<void>> = [];
  const readiness: ReadinessCheck[] = [
    { name: 'kafka', check: () => admin.ping() },
    { name: 'schema-registry', check: () => registry.ping() },
  ];

  for (const definition of options.writes) await codec.useWriter(topicName(definition.topic), definition.schemaName, { autoRegister: options.autoRegisterSchemas ?? config.nodeEnv !== 'production' });
  for (const definition of options.reads) codec.useReader(topicName(definition.topic), definition.schemaName);

  let pg: Pool | null = null;
  if (options.postgres) {
    pg = createPool(config.postgres, { applicationName: `sentinel-${options.service}` });
    await pg.query('SELECT 1').catch(async (error: { code?: string }) => {
      if (error.code !== '3D000') throw error; // 3D000: the database does not exist yet
      logger.info({ database: config.postgres.database }, 'creating the database');
      await ensureDatabase(config.postgres);
    });
    const applied = await migrate(pg);
    if (applied.length > 0) logger.info({ applied }, 'database migrations applied');
    const pool = pg;
    readiness.push({
      name: 'postgres',
      check: async () => {
        // The pool's state explains a failure (an exhausted pool looks like a slow database).
        let timer: NodeJS.Timeout | undefined;
        const slow = new Promise<never>((_, reject) => { timer = setTimeout(() => reject(new Error('no answer within 1.8 s')), 1800); });
        try {
          await Promise.race([pool.query('SELECT 1'), slow]);
        } catch (error) {
          throw new Error(`${(error as Error).message} (pool: ${pool.totalCount} connections, ${pool.idleCount} idle, ${pool.waitingCount} waiting)`, { cause: error });
        } finally {
          clearTimeout(timer);
        }
      },
    });
    closers.push(() => pool.end());
  }
  let redis: Redis | null = null;
  if (options.redis) {
    redis = createRedis(config.redis);
    const client = redis;
    // Commands fail fast while disconnected (no offline queue), so give the first connection a
    // moment; if Redis is down the service still starts, and /ready says so.
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, 5000);
      client.once('ready', () => { clearTimeout(timer); resolve(); });
    });
    readiness.push({ name: 'redis', check: () => pingRedis(client) });
    closers.push(async () => { client.disconnect(); });
  }
  if (options.lagGroups?.length) {
    brokerLagGauge(metrics, async () => {
      const rows: Array<{ group: string; topic: string; partition: number; lag: number }> = [];
      for (const { group, topics } of options.lagGroups!) {
        const groupId = config.kafka.topicPrefix + group;
        for (const row of await admin.groupLag(groupId, topics.map(topicName))) rows.push({ group: groupId, ...row });
      }
      return rows;
    });
  }
  const producer = messaging.producer();
  const producerName = `${options.service}/${config.instanceId}`;
  const publisher = new EventPublisher({ producer, codec, topicName, producerName });
  closers.push(() => producer.close(), () => admin.close());

  let stopping: Promise<void> | null = null;
  const runtime: Runtime = {
    config, logger, metrics, messaging, admin, registry, codec, producer, publisher, pg, redis, readiness, producerName, topicName,
    onShutdown: (close) => { closers.push(close); },
    shutdown(reason) {
      stopping ??= (async () => {
        logger.info({ reason }, 'shutting down');
        for (const close of [...closers].reverse()) {
          try { await close(); } catch (error) { logger.warn({ err: error }, 'error during shutdown'); }
        }
        logger.info('stopped');
        logger.flush();
      })();
      return stopping;
    },
  };
  return runtime;
}

/** SIGTERM/SIGINT → graceful shutdown, then exit; a fatal error logs and exits non-zero. */
export function installSignalHandlers(runtime: Runtime): void {
  const onSignal = (signal: string) => {
    void runtime.shutdown(signal).then(() => process.exit(0));
    setTimeout(() => { runtime.logger.error('shutdown timed out after 30 s'); process.exit(1); }, 30_000).unref();
  };
  process.once('SIGTERM', () => onSignal('SIGTERM'));
  process.once('SIGINT', () => onSignal('SIGINT'));
  process.on('unhandledRejection', (error) => { runtime.logger.error({ err: error }, 'unhandled rejection'); });
}

/** Runs `main`; a start-up failure (bad config, unreachable dependency) is printed plainly and exits 1. */
export function runMain(main: () => Promise<unknown>): void {
  main().catch((error: unknown) => {
    const e = error as { code?: string; message?: string };
    process.stderr.write(`start-up failed: ${e.code ? `${e.code}: ` : ''}${e.message ?? String(error)}\n`);
    process.exit(1);
  });
}
