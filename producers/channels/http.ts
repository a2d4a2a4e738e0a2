// The channels HTTP API (:8080): POST /api/message for agents and services, the conversation
// history over GET /api/conversations/:id/messages, the platform webhooks (raw bodies, checked by
// each adapter before anything is parsed), and the web chat page. Every refusal has the shared
// error shape and is counted.
import { readFileSync } from 'node:fs';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import client from 'prom-client';
import type { WebhookRoute } from '../../src/channels/types.ts';
import { CHANNEL_NAMES, type ChannelName } from '../../src/domain/types.ts';
import { SentinelError } from '../../src/errors/index.ts';
import { sendError } from '../../src/http/server.ts';
import type { Logger } from '../../src/observability/log.ts';
import type { Registry } from '../../src/observability/metrics.ts';
import type { ApiMessage, Ingress } from './ingress.ts';
import type { ChannelsStore } from './store.ts';

/** Where each platform's callbacks arrive; a platform that is not enabled answers SNT_CHANNEL_UNKNOWN. */
export const PLATFORM_WEBHOOKS: ReadonlyArray<{ channel: ChannelName; path: string }> = [
  { channel: 'telegram', path: '/telegram/webhook' },
  { channel: 'discord', path: '/discord/interactions' },
  { channel: 'slack', path: '/slack/events' },
];

const USER_ID = { type: 'string', minLength: 1, maxLength: 128, pattern: '^[A-Za-z0-9._@:+-]+$' } as const;

const messageBody = {
  type: 'object', additionalProperties: false, required: ['userId'],
  oneOf: [{ required: ['text'] }, { required: ['toolCall'] }],
  properties: {
    userId: USER_ID,
    displayName: { type: 'string', minLength: 1, maxLength: 128 },
    channel: { type: 'string', minLength: 1, maxLength: 32 },
    conversationId: { type: 'string', minLength: 1, maxLength: 256, pattern: '^[^\\u0000-\\u001f]+$' },
    messageId: { type: 'string', minLength: 1, maxLength: 128, pattern: '^[A-Za-z0-9._:-]+$' },
    text: { type: 'string', minLength: 1, maxLength: 2000 },
    toolCall: {
      type: 'object', additionalProperties: false, required: ['tool'],
      properties: { tool: { type: 'string', minLength: 1, maxLength: 64 }, arguments: { type: 'object' } },
    },
  },
} as const;

const historyQuery = {
  type: 'object', additionalProperties: false,
  properties: {
    channel: { type: 'string', minLength: 1, maxLength: 32 },
    after: { type: 'string', pattern: '^[0-9]{1,15}$' },
    limit: { type: 'string', pattern: '^[0-9]{1,3}$' },
  },
} as const;

export interface ChannelsApiDependencies {
  ingress: Ingress;
  store: ChannelsStore;
  /** Channels replies can be pushed to (enabled adapters and web). */
  reachable: ReadonlySet<ChannelName>;
  webhooks: ReadonlyMap<ChannelName, readonly WebhookRoute[]>;
  log: Logger;
  metrics: Registry;
  /** WS_PORT as bound (the page connects there). */
  wsPort: () => number;
}

function knownChannel(value: string | undefined, fallback: ChannelName, path: string): ChannelName {
  const channel = value ?? fallback;
  if (!(CHANNEL_NAMES as readonly string[]).includes(channel)) {
    throw new SentinelError('SNT_CHANNEL_UNKNOWN', `unknown channel "${channel}"; channels are ${CHANNEL_NAMES.join(', ')}`, { details: { paths: [path] } });
  }
  return channel as ChannelName;
}

const WEB_DIR = new URL('./web/', import.meta.url);
const PAGE_CSP = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self' ws: wss:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

export function registerChannelsRoutes(app: FastifyInstance, deps: ChannelsApiDependencies): void {
  const refusals = new client.Counter({
    name: 'sentinel_channels_webhook_refusals_total', help: 'Platform callbacks refused (forged, stale, malformed, oversized, unknown channel)',
    labelNames: ['channel', 'code'], registers: [deps.metrics],
  });

  app.post('/api/message', { config: { auth: 'api-key' }, schema: { body: messageBody } }, async (request, reply) => {
    const body = request.body as ApiMessage & { channel?: string };
    const channel = knownChannel(body.channel, 'http', 'body/channel');
    const result = await deps.ingress.submitApi({ ...body, channel }, request.trace, deps.reachable);
    const traceId = request.trace.traceId;
    const messages = `/api/conversations/${encodeURIComponent(result.conversation.conversationId)}/messages?channel=${result.conversation.channel}`;
    if (result.status === 'accepted') {
      return reply.code(202).send({
        status: 'accepted', intentId: result.intentId, traceId, conversation: result.conversation, action: result.action,
        extraction: result.extraction, duplicate: result.duplicate, links: { messages },
      });
    }
    return reply.code(200).send({ ...result, traceId, links: { messages } });
  });

  app.get('/api/conversations/:conversationId/messages', {
    config: { auth: 'api-key' },
    schema: {
      params: { type: 'object', required: ['conversationId'], properties: { conversationId: { type: 'string', minLength: 1, maxLength: 256 } } },
      querystring: historyQuery,
    },
  }, async (request) => {
    const { conversationId } = request.params as { conversationId: string };
    const q = request.query as { channel?: string; after?: string; limit?: string };
    const channel = knownChannel(q.channel, 'http', 'querystring/channel');
    const conversation = await deps.store.conversation(channel, conversationId);
    if (conversation === null) throw new SentinelError('SNT_NOT_FOUND', `no ${channel} conversation "${conversationId}"`);
    const messages = await deps.store.messages(channel, conversationId, Number(q.after ?? 0), Math.min(500, Math.max(1, Number(q.limit ?? 100))));
    return { conversation, messages, next: messages.at(-1)?.seq ?? Number(q.after ?? 0), traceId: request.trace.traceId };
  });

  // Platform callbacks: raw bytes, exactly as sent (the signature checks need them).
  void app.register(async (scope) => {
    scope.removeAllContentTypeParsers();
    scope.addContentTypeParser('*', { parseAs: 'buffer' }, (_request, body, done) => done(null, body));
    for (const { channel, path } of PLATFORM_WEBHOOKS) {
      const route = deps.webhooks.get(channel)?.find((r) => r.path === path);
      // Platforms call from few addresses and every callback is authenticated: not rate limited per IP.
      scope.post(path, { config: { unlimited: true }, bodyLimit: route?.maxBodyBytes ?? 1024 }, async (request: FastifyRequest, reply: FastifyReply) => {
        if (route === undefined) {
          refusals.inc({ channel, code: 'SNT_CHANNEL_UNKNOWN' });
          deps.log.warn({ channel, traceId: request.trace.traceId }, 'callback for a channel that is not enabled');
          return sendError(reply, request, new SentinelError('SNT_CHANNEL_UNKNOWN', `the ${channel} channel is not enabled on this service`));
        }
        const rawBody = Buffer.isBuffer(request.body) ? request.body : Buffer.alloc(0);
        const response = await route.handle({ method: request.method, path, headers: request.headers, rawBody });
        if (response.status >= 400) {
          const code = (() => {
            try {
              return String((JSON.parse(response.body) as { error?: { code?: string } }).error?.code ?? response.status);
            } catch {
              return String(response.status);
            }
          })();
          refusals.inc({ channel, code });
          deps.log.warn({ channel, status: response.status, code, traceId: request.trace.traceId, ip: request.ip }, 'platform callback refused');
        }
        reply.code(response.status).headers(response.headers);
        return reply.send(response.body);
      });
    }
  });

  // The web chat page.
  const page = readFileSync(new URL('index.html', WEB_DIR), 'utf8');
  const assets: Record<string, { type: string; body: string }> = {
    '/app.js': { type: 'text/javascript; charset=utf-8', body: readFileSync(new URL('app.js', WEB_DIR), 'utf8') },
    '/style.css': { type: 'text/css; charset=utf-8', body: readFileSync(new URL('style.css', WEB_DIR), 'utf8') },
  };
  app.get('/', { config: { unlimited: true } }, async (request, reply) => {
    // The page's default is ws(s)://<host>:8081/ws; point it at the port actually bound.
    const port = deps.wsPort();
    let html = page;
    if (port !== 8081) {
      const scheme = request.protocol === 'https' ? 'wss' : 'ws';
      const url = `${scheme}://${request.hostname.replace(/:\d+$/, '')}:${port}/ws`;
      html = page.replace('<meta name="sentinel-ws-url" content="">', `<meta name="sentinel-ws-url" content="${url.replace(/[<>"&]/g, '')}">`);
    }
    return reply.header('content-security-policy', PAGE_CSP).header('cache-control', 'no-cache').type('text/html; charset=utf-8').send(html);
  });
  for (const [path, asset] of Object.entries(assets)) {
    app.get(path, { config: { unlimited: true } }, async (_request, reply) => reply.header('cache-control', 'no-cache').type(asset.type).send(asset.body));
  }
}
