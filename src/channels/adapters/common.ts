// What the adapters share: webhook responses and refusals, mounting WebhookRoutes on a node:http
// server (the service may mount them on its own framework instead), delivery errors, a quiet
// default logger.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { pino } from 'pino';
import type { ChannelName } from '../../domain/types.ts';
import { isSentinelError, SentinelError, type ErrorCode } from '../../errors/index.ts';
import type { Logger } from '../../observability/log.ts';
import type { WebhookRequest, WebhookResponse, WebhookRoute } from '../types.ts';

/** Default limit for platform callbacks: Slack block_actions carry the whole message, so not tiny. */
export const DEFAULT_WEBHOOK_BODY_LIMIT = 256 * 1024;

export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}

export function jsonResponse(status: number, body: unknown, headers: Record<string, string> = {}): WebhookResponse {
  return { status, headers: { 'content-type': 'application/json; charset=utf-8', ...headers }, body: body === undefined ? '' : JSON.stringify(body) };
}

/** A clear refusal: the error code, its status and a message that names the problem. */
export function refusal(code: ErrorCode, message: string, details: Record<string, unknown> = {}): WebhookResponse {
  const error = new SentinelError(code, message, { details });
  return jsonResponse(error.status, { error: error.toJSON() });
}

/** Parses a JSON object body, or returns the refusal to send. */
export function parseJsonObject(rawBody: Buffer): { ok: true; value: Record<string, unknown> } | { ok: false; response: WebhookResponse } {
  let value: unknown;
  try {
    value = JSON.parse(rawBody.toString('utf8'));
  } catch {
    return { ok: false, response: refusal('SNT_MALFORMED_JSON', 'the body is not valid JSON') };
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    return { ok: false, response: refusal('SNT_VALIDATION_FAILED', 'the body must be a JSON object', { paths: [''] }) };
  }
  return { ok: true, value: value as Record<string, unknown> };
}

/**
 * A handler's refusal (a non-retriable SentinelError, e.g. SNT_FORBIDDEN for someone who is not an
 * approver): its message is for the person, and "please try again" would be wrong.
 */
export function isRefusal(error: unknown): error is SentinelError {
  return isSentinelError(error) && !error.retriable && error.status < 500;
}

/** What to tell the person when a handler failed: the refusal's reason, or the adapter's "try again" text. */
export function failureText(error: unknown, fallback: string): string {
  return isRefusal(error) ? error.message : fallback;
}

export function deliveryFailed(channel: ChannelName, operation: string, cause: unknown): SentinelError {
  if (isSentinelError(cause)) return cause;
  const message = cause instanceof Error ? cause.message : String(cause);
  return new SentinelError('SNT_CHANNEL_DELIVERY_FAILED', `${channel}: ${operation} failed: ${message}`, {
    cause,
    details: { channel, operation },
  });
}

/** Reads a request body, refusing (SNT_PAYLOAD_TOO_LARGE) as soon as it passes `limit` bytes. */
export async function readRawBody(req: IncomingMessage, limit: number): Promise<Buffer> {
  const declared = Number(req.headers['content-length'] ?? NaN);
  if (Number.isFinite(declared) && declared > limit) {
    throw new SentinelError('SNT_PAYLOAD_TOO_LARGE', `the body is larger than ${limit} bytes`, { details: { limit } });
  }
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    const buffer = chunk as Buffer;
    size += buffer.length;
    if (size > limit) throw new SentinelError('SNT_PAYLOAD_TOO_LARGE', `the body is larger than ${limit} bytes`, { details: { limit } });
    chunks.push(buffer);
  }
  return Buffer.concat(chunks);
}

function send(res: ServerResponse, response: WebhookResponse): void {
  res.writeHead(response.status, response.headers);
  res.end(response.body);
}

/**
 * A node:http request listener serving the given routes (exact path match, POST only). Bodies are
 * read raw, bounded by each route's maxBodyBytes; anything else gets 404/405/413.
 * Returns false from `handled` when no route matched, so it can be chained with other listeners.
 */
export function createWebhookListener(routes: readonly WebhookRoute[], log: Logger = silentLogger()) {
  const byPath = new Map(routes.map((r) => [r.path, r]));
  return async function webhookListener(req: IncomingMessage, res: ServerResponse): Promise<boolean> {
    const path = (req.url ?? '/').split('?')[0] ?? '/';
    const route = byPath.get(path);
    if (!route) return false;
    try {
      if (req.method !== route.method) {
        send(res, { ...refusal('SNT_NOT_FOUND', `use ${route.method} ${route.path}`), status: 405 });
        return true;
      }
      const rawBody = await readRawBody(req, route.maxBodyBytes);
      const request: WebhookRequest = { method: req.method, path, headers: req.headers, rawBody };
      send(res, await route.handle(request));
    } catch (error) {
      if (isSentinelError(error)) {
        send(res, jsonResponse(error.status, { error: error.toJSON() }, error.code === 'SNT_PAYLOAD_TOO_LARGE' ? { connection: 'close' } : {}));
      } else {
        log.error({ err: error, path }, 'webhook handler failed');
        send(res, refusal('SNT_INTERNAL', 'internal error'));
      }
    }
    return true;
  };
}
