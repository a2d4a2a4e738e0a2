// Is a failed platform send worth retrying? (pure). Adapters wrap every platform failure in
// SNT_CHANNEL_DELIVERY_FAILED with the library's error as the cause; this looks at that cause:
// rate limits, 5xx answers and network errors are transient; the platform refusing this message
// (no such chat, blocked by the user, invalid blocks, 4xx) is permanent and is never retried.

const SLACK_TRANSIENT_ERRORS = new Set([
  'ratelimited', 'rate_limited', 'internal_error', 'fatal_error', 'service_unavailable', 'request_timeout', 'team_added_to_org',
]);
const NETWORK_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'EPIPE', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'EAI_AGAIN', 'ENOTFOUND', 'UND_ERR_SOCKET', 'UND_ERR_CONNECT_TIMEOUT', 'ABORT_ERR']);

export type DeliveryFailureClass = 'transient' | 'permanent';

function byStatus(status: number): DeliveryFailureClass {
  return status === 429 || status === 408 || status >= 500 ? 'transient' : 'permanent';
}

function classifyOne(error: unknown): DeliveryFailureClass | null {
  if (error === null || typeof error !== 'object') return null;
  const e = error as { code?: unknown; status?: unknown; statusCode?: unknown; data?: { error?: unknown }; response?: { error_code?: unknown }; name?: unknown };
  // Our own wrapper (SNT_CHANNEL_DELIVERY_FAILED): its status is ours, the platform's answer is in the cause.
  if (typeof e.code === 'string' && e.code.startsWith('SNT_')) return null;
  // @slack/web-api
  if (e.code === 'slack_webapi_rate_limited_error' || e.code === 'slack_webapi_request_error') return 'transient';
  if (e.code === 'slack_webapi_platform_error') return SLACK_TRANSIENT_ERRORS.has(String(e.data?.error)) ? 'transient' : 'permanent';
  if (e.code === 'slack_webapi_http_error' && typeof e.statusCode === 'number') return byStatus(e.statusCode);
  // telegraf TelegramError (code = Bot API error_code, an HTTP status)
  if (typeof e.response?.error_code === 'number') return byStatus(e.response.error_code);
  // discord.js DiscordAPIError / HTTPError (status = HTTP status)
  if (typeof e.status === 'number' && e.status >= 400) return byStatus(e.status);
  if (typeof e.code === 'string' && NETWORK_CODES.has(e.code)) return 'transient';
  if (e.name === 'AbortError' || e.name === 'TimeoutError' || e.name === 'FetchError') return 'transient';
  return null;
}

/** Walks the cause chain; unknown failures count as transient (they are retried a bounded number of times). */
export function classifyDeliveryFailure(error: unknown): DeliveryFailureClass {
  let current: unknown = error;
  for (let depth = 0; depth < 6 && current !== undefined && current !== null; depth++) {
    const found = classifyOne(current);
    if (found !== null) return found;
    current = (current as { cause?: unknown }).cause;
  }
  return 'transient';
}

/** Backoff before retry number `attempt` (1-based): 1 s, 2 s, 4 s ... capped, with the jitter passed in. */
export function retryDelayMs(attempt: number, jitter: number, base = 1000, cap = 60_000): number {
  const raw = Math.min(cap, base * 2 ** Math.max(0, attempt - 1));
  return Math.round(raw * (0.75 + 0.5 * Math.min(1, Math.max(0, jitter))));
}
