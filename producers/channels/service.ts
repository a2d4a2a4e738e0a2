// Builds the channels service ("OpenClaw") from a runtime: the adapters whose credentials are set
// (Telegram, Discord, Slack) and the web chat on WS_PORT, the HTTP API on PORT, the replies
// consumer (group sentinel-channels, at-least-once, deduplicated by reply id), the web chat
// fan-out through Redis, and the scheduler for approval deadlines and delivery retries. Nothing
// starts until start().
import { randomUUID } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createEnabledAdapters } from '../../src/channels/adapters/index.ts';
import type { IntentExtractor } from '../../src/channels/extract/types.ts';
import { createRuleExtractor } from '../../src/channels/extract/rules.ts';
import { loadIdentityLinks, type IdentityDirectory } from '../../src/channels/identity/links.ts';
import type { ChannelAdapter, WebhookRoute } from '../../src/channels/types.ts';
import { createWebChat, type WebChatSignIn } from '../../src/channels/webchat/server.ts';
import { ChannelReplyRequested, HumanApprovalResponded, IntentSubmitted, conversationKey } from '../../src/contracts/events.ts';
import type { ChannelName, ChannelReply } from '../../src/domain/types.ts';
import { buildHttpServer } from '../../src/http/server.ts';
import { RedisRateLimiter } from '../../src/http/rate-limit.ts';
import { ConsumerRunner, type BatchHandler, type HandlerResult } from '../../src/kafka/runner.ts';
import { runnerMetrics } from '../../src/observability/metrics.ts';
import type { Runtime, RuntimeOptions } from '../../src/service/runtime.ts';
import client from 'prom-client';
import { Deliverer } from './deliveries.ts';
import { registerChannelsRoutes } from './http.ts';
import { Ingress } from './ingress.ts';
import { ChannelSessions, subscribeWebFrames } from './sessions.ts';
import { Scheduler } from './scheduler.ts';
import { ChannelsStore } from './store.ts';
import { WebChatBridge } from './webbridge.ts';
import { verifyWebchatToken } from './websignin.ts';

export const CHANNELS_GROUP = 'sentinel-channels';

export const channelsRuntimeOptions: RuntimeOptions = {
  service: 'channels',
  reads: [ChannelReplyRequested],
  writes: [IntentSubmitted, HumanApprovalResponded],
  postgres: true,
  redis: true,
  lagGroups: [{ group: CHANNELS_GROUP, topics: ['sentinel.replies'] }],
};

export interface ChannelsServiceOverrides {
  clock?: () => number;
  directory?: IdentityDirectory;
  extractor?: IntentExtractor;
  /** Platform adapters to use instead of those built from the configuration. */
  adapters?: ChannelAdapter[];
  groupId?: string;
  /** Scheduler round interval (approval deadlines, delivery retries). Default 1 s. */
  schedulerIntervalMs?: number;
  /** First delivery retry delay. Default 1 s. */
  retryBaseMs?: number;
  maxDeliveryAttempts?: number;
  /** Web chat sign-in (default: tokens with WEBCHAT_SESSION_SECRET, else development sign-in outside production). */
  webSignIn?: WebChatSignIn;
  /** Web chat rate limit per connection. */
  webRateLimit?: { frames: number; windowMs: number };
}

function listen(server: Server, port: number, host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve((server.address() as AddressInfo).port);
    });
  });
}

export async function buildChannelsService(runtime: Runtime, overrides: ChannelsServiceOverrides = {}) {
  const { config, logger, metrics } = runtime;
  const pg = runtime.pg!;
  const redis = runtime.redis!;
  const clock = overrides.clock ?? Date.now;
  const directory = overrides.directory ?? await loadIdentityLinks(config.identityLinksFile);
  const extractor = overrides.extractor ?? createRuleExtractor();
  const groupId = overrides.groupId ?? config.kafka.topicPrefix + CHANNELS_GROUP;
  logger.info({ users: directory.users.length, roles: directory.roles.size, file: config.identityLinksFile }, 'identity links loaded');

  // ---------------------------------------------------------------- adapters
  const platform = overrides.adapters ?? createEnabledAdapters({
    bots: config.bots, log: logger, clock, publicBaseUrl: config.channels.publicBaseUrl || null,
  });
  const adapters = new Map<ChannelName, ChannelAdapter>(platform.map((a) => [a.name, a]));
  const secret = config.channels.webchatSessionSecret;
  const signIn: WebChatSignIn = overrides.webSignIn ?? (secret !== ''
    ? async ({ userId, token }) => {
      const id = verifyWebchatToken(secret, token, userId, clock());
      return id === null ? null : { channelUserId: id };
    }
    : config.nodeEnv === 'production'
      ? async () => null
      : 'dev');
  if (signIn === 'dev') logger.warn('web chat uses development sign-in: anyone can claim any user id (set WEBCHAT_SESSION_SECRET)');
  else if (secret === '' && overrides.webSignIn === undefined) logger.error('web chat sign-in is refused: NODE_ENV=production needs WEBCHAT_SESSION_SECRET');

  const webRefusals = new client.Counter({
    name: 'sentinel_channels_webchat_refusals_total', help: 'Web chat frames refused, by error code', labelNames: ['code'], registers: [metrics],
  });
  const store = new ChannelsStore(pg, config.kafka.topicPrefix);
  const sessions = new ChannelSessions({ redis, prefix: `${config.redis.keyPrefix}channels:`, instanceId: config.instanceId });
  let bridge: WebChatBridge | null = null;
  const web = createWebChat({
    directory, signIn, log: logger.child({ channel: 'web' }), clock,
    allowedOrigins: config.channels.webchatAllowedOrigins.length > 0 ? config.channels.webchatAllowedOrigins : null,
    backlogPerUser: 0, // replies for someone away wait in PostgreSQL (any replica hands them over)
    ...(overrides.webRateLimit ? { rateLimit: overrides.webRateLimit } : {}),
    onPresence: (event) => bridge?.onPresence(event),
    onRefusal: ({ code, sessionId, channelUserId }) => {
      webRefusals.inc({ code });
      logger.info({ channel: 'web', code, sessionId, channelUserId }, 'web chat frame refused');
    },
  });
  bridge = new WebChatBridge({ web, sessions, store, log: logger.child({ component: 'webchat-bridge' }), clock });
  new client.Gauge({ name: 'sentinel_channels_webchat_sessions', help: 'Open web chat sockets on this replica', registers: [metrics], collect() { this.set(web.sessionCount); } });

  const deliverer = new Deliverer({
    adapters, web: bridge, store, directory, log: logger.child({ component: 'deliveries' }), metrics, clock,
    ...(overrides.maxDeliveryAttempts ? { maxAttempts: overrides.maxDeliveryAttempts } : {}),
    ...(overrides.retryBaseMs ? { retryBaseMs: overrides.retryBaseMs } : {}),
  });
  const ingress = new Ingress({
    directory, extractor, sessions, store, publisher: runtime.publisher, deliverer, log: logger, metrics, clock, newId: randomUUID,
  });
  const scheduler = new Scheduler({
    store, publisher: runtime.publisher, deliverer, log: logger.child({ component: 'scheduler' }), metrics, clock,
    ...(overrides.schedulerIntervalMs ? { intervalMs: overrides.schedulerIntervalMs } : {}),
  });

  // ---------------------------------------------------------------- replies consumer
  const handler: BatchHandler = async (events) => {
    // One conversation's replies in order; different conversations concurrently.
    const groups = new Map<string, number[]>();
    events.forEach((event, i) => {
      const key = conversationKey((event.data as ChannelReply).conversation);
      groups.set(key, [...(groups.get(key) ?? []), i]);
    });
    await Promise.all([...groups.values()].map(async (indexes) => {
      for (const i of indexes) {
        const event = events[i]!;
        await deliverer.handleReply(event.data as ChannelReply, { traceId: event.trace.traceId, spanId: event.trace.spanId });
      }
    }));
    return events.map((): HandlerResult => ({ outputs: [] }));
  };
  const consumer = runtime.messaging.consumer({ groupId, topics: [runtime.topicName(ChannelReplyRequested.topic)] });
  const runner = new ConsumerRunner({
    groupId,
    subscriptions: [ChannelReplyRequested],
    consumer,
    codec: runtime.codec,
    topicName: runtime.topicName,
    delivery: { mode: 'at-least-once', producer: runtime.producer },
    producerName: runtime.producerName,
    logger,
    metrics: runnerMetrics(metrics, groupId),
    clock,
    handler,
  });
  let consumerFailed: Error | null = null;

  // ---------------------------------------------------------------- HTTP and WebSocket servers
  const reachable = new Set<ChannelName>(['web', ...adapters.keys()]);
  const webhooks = new Map<ChannelName, readonly WebhookRoute[]>(platform.map((a) => [a.name, a.webhooks]));
  // The rate limit's Redis calls of concurrent requests share one write (auto-pipelining): one
  // syscall for many requests instead of one each.
  const limiterRedis = redis.duplicate({ enableAutoPipelining: true, connectionName: 'aureus-channels-ratelimit' });
  limiterRedis.on('error', () => {});
  runtime.onShutdown(async () => { limiterRedis.disconnect(); });
  const http = buildHttpServer({
    service: 'channels', logger, metrics, apiKeys: config.security.apiKeys, bodyLimitBytes: config.http.bodyLimitBytes,
    rateLimiter: new RedisRateLimiter(limiterRedis, config.security.rateLimitMaxRequests, { prefix: `${config.redis.keyPrefix}ratelimit:` }),
    readiness: [
      ...runtime.readiness,
      { name: 'replies-consumer', check: async () => { if (consumerFailed) throw consumerFailed; } },
    ],
  });
  const wsServer = createServer((_request, response) => {
    response.writeHead(426, { 'content-type': 'application/json; charset=utf-8', upgrade: 'websocket' });
    response.end(JSON.stringify({ error: { code: 'SNT_NOT_FOUND', message: 'this port serves the web chat WebSocket at /ws' } }));
  });
  web.attach(wsServer);
  let wsPort = config.http.wsPort;
  registerChannelsRoutes(http, { ingress, store, reachable, webhooks, log: logger, metrics, wsPort: () => wsPort });

  const handlers = {
    onMessage: (message: Parameters<typeof ingress.onMessage>[0]) => ingress.onMessage(message),
    onApprovalAnswer: (answer: Parameters<typeof ingress.onApprovalAnswer>[0]) => ingress.onApprovalAnswer(answer),
  };
  let subscription: { close(): Promise<void> } | null = null;

  return {
    http, wsServer, web, adapters, runner, consumer, store, sessions, ingress, deliverer, scheduler, directory, bridge,
    get wsPort() { return wsPort; },
    async start(): Promise<void> {
      // Each part's cleanup is registered as soon as it runs: shutdown goes in reverse order.
      subscription = await subscribeWebFrames(redis, sessions, logger, (message) => bridge!.onFrame(message));
      runtime.onShutdown(async () => { await subscription?.close(); });
      // Listening first: a platform told our webhook URL (Telegram setWebhook) may call at once.
      await http.listen({ host: config.http.host, port: config.http.port });
      runtime.onShutdown(async () => { await http.close(); });
      wsPort = await listen(wsServer, config.http.wsPort, config.http.host);
      await web.start(handlers);
      runtime.onShutdown(async () => {
        await web.stop(); // pages are told 1001 (going away) and reconnect elsewhere
        await bridge!.close();
        await new Promise<void>((resolve) => { wsServer.closeAllConnections(); wsServer.close(() => resolve()); });
      });
      for (const adapter of platform) {
        await adapter.start(handlers);
        runtime.onShutdown(async () => {
          // A platform that no longer answers must not hold up the shutdown.
          const stopped = await Promise.race([adapter.stop().then(() => true), new Promise<boolean>((resolve) => setTimeout(resolve, 5000, false).unref())]);
          if (!stopped) logger.warn({ channel: adapter.name }, 'adapter did not stop within 5 s; going on');
        });
      }
      let stopping = false;
      void runner.start().catch((error: unknown) => {
        if (stopping) return; // the consumer was stopped on purpose
        consumerFailed = error as Error;
        logger.fatal({ err: error }, 'replies consumer stopped');
        void runtime.shutdown('consumer failure').then(() => process.exit(1));
      });
      runtime.onShutdown(async () => {
        stopping = true;
        // A consumer stopped while it is still joining its group fails in the client; let it join first.
        await Promise.race([consumer.joined(), new Promise((resolve) => setTimeout(resolve, 10_000).unref())]);
        await runner.stop();
      });
      scheduler.start();
      runtime.onShutdown(async () => { await scheduler.stop(); });
      logger.info({ port: config.http.port, wsPort, group: groupId, channels: [...reachable] }, 'channels service started');
    },
  };
}

export type ChannelsService = Awaited<ReturnType<typeof buildChannelsService>>;
