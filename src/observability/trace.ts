// Trace context: W3C `traceparent` plus the seed's X-Trace-ID / X-Span-ID / X-Parent-Span-ID,
// carried in HTTP headers and in the headers of every Kafka record. One constant table of names.
import { randomBytes } from 'node:crypto';

export const TRACE_HEADERS = {
  traceparent: 'traceparent',
  traceId: 'x-trace-id',
  spanId: 'x-span-id',
  parentSpanId: 'x-parent-span-id',
} as const;

export interface TraceContext {
  /** 32 lower-case hex characters. */
  traceId: string;
  /** 16 lower-case hex characters: this hop's span. */
  spanId: string;
  /** The span that caused this one, or null at the root. */
  parentSpanId: string | null;
  sampled: boolean;
}

const TRACE_ID = /^[0-9a-f]{32}$/;
const SPAN_ID = /^[0-9a-f]{16}$/;
const TRACEPARENT = /^00-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$/;

export type RandomHex = (bytes: number) => string;
export const cryptoRandomHex: RandomHex = (bytes) => randomBytes(bytes).toString('hex');

export function newTrace(random: RandomHex = cryptoRandomHex): TraceContext {
  return { traceId: random(16), spanId: random(8), parentSpanId: null, sampled: true };
}

/** The next hop: same trace, a new span whose parent is the current span. */
export function childSpan(parent: TraceContext, random: RandomHex = cryptoRandomHex): TraceContext {
  return { traceId: parent.traceId, spanId: random(8), parentSpanId: parent.spanId, sampled: parent.sampled };
}

export function formatTraceparent(ctx: TraceContext): string {
  return `00-${ctx.traceId}-${ctx.spanId}-${ctx.sampled ? '01' : '00'}`;
}

export function parseTraceparent(value: string | undefined): { traceId: string; spanId: string; sampled: boolean } | null {
  if (!value) return null;
  const m = TRACEPARENT.exec(value.trim().toLowerCase());
  if (!m) return null;
  const [, traceId, spanId, flags] = m as unknown as [string, string, string, string];
  if (/^0+$/.test(traceId) || /^0+$/.test(spanId)) return null;
  return { traceId, spanId, sampled: (parseInt(flags, 16) & 1) === 1 };
}

/** Accepts the seed's UUID form of X-Trace-ID as well as 32 hex characters. */
function normaliseTraceId(value: string | undefined): string | null {
  if (!value) return null;
  const hex = value.trim().toLowerCase().replaceAll('-', '');
  return TRACE_ID.test(hex) && !/^0+$/.test(hex) ? hex : null;
}

function normaliseSpanId(value: string | undefined): string | null {
  if (!value) return null;
  const hex = value.trim().toLowerCase().replaceAll('-', '');
  if (SPAN_ID.test(hex)) return hex;
  return /^[0-9a-f]{32}$/.test(hex) ? hex.slice(0, 16) : null;
}

/** The incoming context, read from headers (W3C first, then the X-* headers), as the *parent* of our span. */
export function readTraceHeaders(get: (name: string) => string | undefined): { traceId: string; spanId: string | null; sampled: boolean } | null {
  const w3c = parseTraceparent(get(TRACE_HEADERS.traceparent));
  if (w3c) return w3c;
  const traceId = normaliseTraceId(get(TRACE_HEADERS.traceId));
  if (!traceId) return null;
  return { traceId, spanId: normaliseSpanId(get(TRACE_HEADERS.spanId)), sampled: true };
}

/** Continues an incoming trace with a new span, or starts a new trace. */
export function continueTrace(get: (name: string) => string | undefined, random: RandomHex = cryptoRandomHex): TraceContext {
  const incoming = readTraceHeaders(get);
  if (!incoming) return newTrace(random);
  return { traceId: incoming.traceId, spanId: random(8), parentSpanId: incoming.spanId, sampled: incoming.sampled };
}

export function traceHeaders(ctx: TraceContext): Record<string, string> {
  const headers: Record<string, string> = {
    [TRACE_HEADERS.traceparent]: formatTraceparent(ctx),
    [TRACE_HEADERS.traceId]: ctx.traceId,
    [TRACE_HEADERS.spanId]: ctx.spanId,
  };
  if (ctx.parentSpanId) headers[TRACE_HEADERS.parentSpanId] = ctx.parentSpanId;
  return headers;
}
