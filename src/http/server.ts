// The HTTP kit every service uses (fastify): trace context in and out, one error shape
// ({ error: { code, message, details }, traceId }) for every refusal, strict JSON-schema validation,
// body limits, API keys, shared rate limits with standard headers, security headers, and the
// /health, /api/health, /ready and /metrics endpoints.
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest, type RouteShorthandOptions } from 'fastify';
import { SentinelError, type ErrorCode } from '../errors/index.ts';
import type { Logger } from '../observability/log.ts';
import { httpMetrics, type Registry } from '../observability/metrics.ts';
import { continueTrace, traceHeaders, type TraceContext } from '../observability/trace.ts';
import { apiKeyCheck, presentedKey } from './api-keys.ts';
import type { RateLimiter } from './rate-limit.ts';

declare module 'fastify' {
  interface FastifyRequest {
    trace: TraceContext;
    apiKeyId: string | null;
  }
  interface FastifyContextConfig {
    /** 'api-key' requires a valid key (when keys are configured); default 'none'. */
    auth?: 'api-key' | 'none';
    /** Skip rate limiting (probes and metrics). */
    unlimited?: boolean;
  }
}

export interface ReadinessCheck { name: string; check: () => Promise<void> }

export interface HttpServerOptions {
  service: string;
  logger: Logger;
  metrics: Registry;
  apiKeys: readonly string[];
  rateLimiter?: RateLimiter;
  bodyLimitBytes: number;
  readiness: ReadinessCheck[];
  /** Extra headers for HTML pages (the web chat's CSP). */
  contentSecurityPolicy?: string;
  /** Origins allowed to call the API from a browser (CORS); none by default. */
  corsOrigins?: readonly string[];
}

export function sendError(reply: FastifyReply, request: FastifyRequest, error: SentinelError): FastifyReply {
  return reply.code(error.status).send({ error: error.toJSON(), traceId: request.trace?.traceId });
}

const FASTIFY_CODES: Record<string, ErrorCode> = {
  FST_ERR_CTP_BODY_TOO_LARGE: 'SNT_PAYLOAD_TOO_LARGE',
  FST_ERR_CTP_INVALID_MEDIA_TYPE: 'SNT_UNSUPPORTED_MEDIA_TYPE',
  FST_ERR_CTP_EMPTY_JSON_BODY: 'SNT_MALFORMED_JSON',
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: 'SNT_MALFORMED_JSON',
};

function toSentinelError(error: unknown): SentinelError {
  if (error instanceof SentinelError) return error;
  const e = error as { code?: string; statusCode?: number; message?: string; validation?: Array<{ instancePath?: string; message?: string; params?: Record<string, unknown> }>; validationContext?: string };
  if (e.validation) {
    const paths = e.validation.map((v) => {
      const extra = v.params?.additionalProperty ? `/${String(v.params.additionalProperty)}` : v.params?.missingProperty ? `/${String(v.params.missingProperty)}` : '';
      return `${e.validationContext ?? 'body'}${v.instancePath ?? ''}${extra}`;
    });
    return new SentinelError('SNT_VALIDATION_FAILED', `invalid request: ${paths[0]} ${e.validation[0]?.message ?? ''}`.trim(), { details: { paths } });
  }
  if (e.code && FASTIFY_CODES[e.code]) return new SentinelError(FASTIFY_CODES[e.code]!, e.message ?? e.code);
  if (e instanceof SyntaxError || e.code === 'FST_ERR_CTP_INVALID_JSON_BODY' || (e.statusCode === 400 && /JSON/i.test(e.message ?? ''))) {
    return new SentinelError('SNT_MALFORMED_JSON', 'the body is not valid JSON');
  }
  if (e.statusCode === 404) return new SentinelError('SNT_NOT_FOUND', e.message ?? 'not found');
  if (e.statusCode && e.statusCode >= 400 && e.statusCode < 500) return new SentinelError('SNT_VALIDATION_FAILED', e.message ?? 'bad request');
  return new SentinelError('SNT_INTERNAL', 'internal error', { cause: error });
}

export function buildHttpServer(options: HttpServerOptions): FastifyInstance {
  const app = Fastify({
    bodyLimit: options.bodyLimitBytes,
    logger: false,
    trustProxy: true,
    return503OnClosing: true,
    ajv: { customOptions: { removeAdditional: false, coerceTypes: false, useDefaults: false, allErrors: false } },
  });
  const keys = apiKeyCheck(options.apiKeys);
  const metrics = httpMetrics(options.metrics);
  if (keys.open) options.logger.warn('no API_KEY configured: service-to-service routes accept unauthenticated calls (development only)');

  app.decorateRequest('trace', null as unknown as TraceContext);
  app.decorateRequest('apiKeyId', null);

  app.addHook('onRequest', async (request, reply) => {
    request.trace = continueTrace((name) => {
      const value = request.headers[name];
      return Array.isArray(value) ? value[0] : value;
    });
    for (const [name, value] of Object.entries(traceHeaders(request.trace))) reply.header(name, value);
    reply.header('x-content-type-options', 'nosniff');
    reply.header('x-frame-options', 'DENY');
    reply.header('referrer-policy', 'no-referrer');
    reply.header('cross-origin-resource-policy', 'same-origin');
    if (options.contentSecurityPolicy) reply.header('content-security-policy', options.contentSecurityPolicy);
    const origin = request.headers.origin;
    if (origin && options.corsOrigins?.includes(origin)) {
      reply.header('access-control-allow-origin', origin);
      reply.header('vary', 'Origin');
      reply.header('access-control-allow-headers', 'content-type, authorization, x-api-key, traceparent, x-trace-id');
      reply.header('access-control-allow-methods', 'GET, POST, OPTIONS');
      reply.header('access-control-expose-headers', 'x-trace-id, ratelimit-limit, ratelimit-remaining, ratelimit-reset, retry-after');
    }
  });

  app.addHook('preHandler', async (request, reply) => {
    const config = request.routeOptions.config;
    if (config.auth === 'api-key' && !keys.open) {
      request.apiKeyId = keys.verify(presentedKey(request.headers));
      if (!request.apiKeyId) {
        metrics.refusals.inc({ code: 'SNT_UNAUTHENTICATED' });
        return sendError(reply.header('www-authenticate', 'Bearer'), request, new SentinelError('SNT_UNAUTHENTICATED', 'a valid API key is required (Authorization: Bearer <key> or X-API-Key)'));
      }
    }
    if (options.rateLimiter && !config.unlimited) {
      const subject = request.apiKeyId ? `key:${request.apiKeyId}` : `ip:${request.ip}`;
      const decision = await options.rateLimiter.consume(`${options.service}:${subject}`);
      reply.header('ratelimit-limit', String(decision.limit));
      reply.header('ratelimit-remaining', String(decision.remaining));
      reply.header('ratelimit-reset', String(decision.resetSeconds));
      reply.header('ratelimit-policy', `${decision.limit};w=60`);
      if (!decision.allowed) {
        metrics.refusals.inc({ code: 'SNT_RATE_LIMITED' });
        reply.header('retry-after', String(decision.resetSeconds));
        return sendError(reply, request, new SentinelError('SNT_RATE_LIMITED', `rate limit of ${decision.limit} requests per minute exceeded`, { details: { retryAfterSeconds: decision.resetSeconds } }));
      }
    }
    return undefined;
  });

  app.addHook('onResponse', async (request, reply) => {
    const route = request.routeOptions.url ?? 'unmatched';
    metrics.requests.inc({ method: request.method, route, status: String(reply.statusCode) });
    metrics.duration.observe({ method: request.method, route }, reply.elapsedTime / 1000);
    if (options.logger.isLevelEnabled('debug')) {
      options.logger.debug({
        traceId: request.trace?.traceId, spanId: request.trace?.spanId, parentSpanId: request.trace?.parentSpanId,
        method: request.method, route, status: reply.statusCode, ms: Math.round(reply.elapsedTime * 10) / 10,
      }, 'request handled');
    }
  });

  app.setErrorHandler((error, request, reply) => {
    const sentinel = toSentinelError(error);
    metrics.refusals.inc({ code: sentinel.code });
    const log = { traceId: request.trace?.traceId, code: sentinel.code, method: request.method, url: request.url };
    if (sentinel.status >= 500) options.logger.error({ ...log, err: error }, 'request failed');
    else options.logger.info(log, `request refused: ${sentinel.message}`);
    return sendError(reply, request, sentinel);
  });

  app.setNotFoundHandler((request, reply) => sendError(reply, request, new SentinelError('SNT_NOT_FOUND', `no route ${request.method} ${request.url.split('?')[0]}`)));

  const probe: RouteShorthandOptions = { config: { unlimited: true } };
  const liveness = async () => ({ status: 'ok', service: options.service });
  app.get('/health', probe, liveness);
  app.get('/api/health', probe, liveness);
  app.get('/ready', probe, async (_request, reply) => {
    const results = await Promise.all(options.readiness.map(async ({ name, check }) => {
      try {
        await Promise.race([check(), new Promise((_, reject) => setTimeout(() => reject(new Error('timed out after 2 s')), 2000).unref())]);
        return [name, { ok: true }] as const;
      } catch (error) {
        return [name, { ok: false, error: (error as Error).message }] as const;
      }
    }));
    const ready = results.every(([, r]) => r.ok);
    return reply.code(ready ? 200 : 503).send({ status: ready ? 'ready' : 'not ready', service: options.service, checks: Object.fromEntries(results) });
  });
  app.get('/metrics', probe, async (_request, reply) => {
    reply.header('content-type', options.metrics.contentType);
    return options.metrics.metrics();
  });
  return app;
}
