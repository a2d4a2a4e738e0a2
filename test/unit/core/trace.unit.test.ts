import assert from 'node:assert/strict';
import { test } from 'node:test';
import { childSpan, continueTrace, formatTraceparent, newTrace, parseTraceparent, traceHeaders } from '../../../src/observability/trace.ts';

test('traceparent formats and parses per W3C, refusing all-zero and malformed ids', () => {
  const ctx = newTrace();
  const header = formatTraceparent(ctx);
  assert.match(header, /^00-[0-9a-f]{32}-[0-9a-f]{16}-01$/);
  assert.deepEqual(parseTraceparent(header), { traceId: ctx.traceId, spanId: ctx.spanId, sampled: true });
  assert.equal(parseTraceparent(`00-${'0'.repeat(32)}-${'1'.repeat(16)}-01`), null);
  assert.equal(parseTraceparent('00-abc-def-01'), null);
  assert.equal(parseTraceparent(undefined), null);
});

test('a child span keeps the trace id and points at its parent', () => {
  const root = newTrace();
  const child = childSpan(root);
  assert.equal(child.traceId, root.traceId);
  assert.equal(child.parentSpanId, root.spanId);
  assert.notEqual(child.spanId, root.spanId);
  const headers = traceHeaders(child);
  assert.equal(headers['x-trace-id'], root.traceId);
  assert.equal(headers['x-parent-span-id'], root.spanId);
  assert.equal(parseTraceparent(headers.traceparent)!.spanId, child.spanId);
});

test('continueTrace prefers traceparent, accepts the seed\'s UUID X-Trace-ID, and starts a trace otherwise', () => {
  const root = newTrace();
  const fromW3c = continueTrace((n) => traceHeaders(root)[n]);
  assert.equal(fromW3c.traceId, root.traceId);
  assert.equal(fromW3c.parentSpanId, root.spanId);
  const uuid = '3f2504e0-4f89-11d3-9a0c-0305e82c3301';
  const fromSeed = continueTrace((n) => ({ 'x-trace-id': uuid, 'x-span-id': 'b7ad6b7169203331' } as Record<string, string>)[n]);
  assert.equal(fromSeed.traceId, uuid.replaceAll('-', ''));
  assert.equal(fromSeed.parentSpanId, 'b7ad6b7169203331');
  const fresh = continueTrace(() => undefined);
  assert.equal(fresh.parentSpanId, null);
  assert.match(fresh.traceId, /^[0-9a-f]{32}$/);
});
