import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { test } from 'node:test';
import { buildHttpServer } from '../../../src/http/server.ts';
import { MemoryRateLimiter } from '../../../src/http/rate-limit.ts';
import { apiKeyCheck } from '../../../src/http/api-keys.ts';
import { createLogger } from '../../../src/observability/log.ts';
import { createMetricsRegistry } from '../../../src/observability/metrics.ts';
import { SentinelError } from '../../../src/errors/index.ts';

function app(options: { keys?: string[]; limit?: number; ready?: boolean } = {}) {
  const server = buildHttpServer({
    service: 'test', logger: createLogger({ service: 'test', level: 'silent', secrets: [] }), metrics: createMetricsRegistry('test', 't'),
    apiKeys: options.keys ?? ['k-one-0123456789', 'k-two-0123456789'], bodyLimitBytes: 1024,
    rateLimiter: options.limit ? new MemoryRateLimiter(options.limit) : undefined,
    readiness: [{ name: 'dep', check: async () => { if (options.ready === false) throw new Error('down'); } }],
  });
  server.post('/echo', {
    config: { auth: 'api-key' },
    schema: { body: { type: 'object', additionalProperties: false, required: ['name'], properties: { name: { type: 'string', maxLength: 10 } } } },
  }, async (request) => ({ hello: (request.body as { name: string }).name, trace: request.trace.traceId }));
  server.get('/boom', async () => { throw new SentinelError('SNT_FORBIDDEN', 'not you'); });
  server.get('/bug', async () => { throw new TypeError('oops'); });
  return server;
}

const auth = { authorization: 'Bearer k-two-0123456789' };

test('a valid key from either rotation slot is accepted; a missing or wrong key gets 401 with a reason', async () => {
  const server = app();
  const ok = await server.inject({ method: 'POST', url: '/echo', headers: auth, payload: { name: 'ada' } });
  assert.equal(ok.statusCode, 200);
  assert.equal(ok.json().hello, 'ada');
  const viaHeader = await server.inject({ method: 'POST', url: '/echo', headers: { 'x-api-key': 'k-one-0123456789' }, payload: { name: 'ada' } });
  assert.equal(viaHeader.statusCode, 200);
  for (const headers of [{}, { authorization: 'Bearer k-two-012345678' }, { 'x-api-key': 'nope' }]) {
    const refused = await server.inject({ method: 'POST', url: '/echo', headers, payload: { name: 'ada' } });
    assert.equal(refused.statusCode, 401);
    assert.equal(refused.json().error.code, 'SNT_UNAUTHENTICATED');
  }
});

test('apiKeyCheck verifies by digest and returns a non-secret key id', () => {
  const check = apiKeyCheck(['alpha-secret-key', 'beta-secret-key']);
  assert.equal(check.verify('alpha-secret-key')?.length, 8);
  assert.notEqual(check.verify('alpha-secret-key'), check.verify('beta-secret-key'));
  assert.equal(check.verify('alpha-secret-ke'), null);
  assert.equal(check.verify(undefined), null);
  assert.equal(check.verify('x'.repeat(10_000)), null);
  assert.equal(apiKeyCheck([]).open, true);
});

test('bad bodies get a 4xx with a code and the failing field: schema, unknown field, malformed JSON, too large, wrong type', async () => {
  const server = app();
  const cases: Array<[string | object, Record<string, string>, number, string]> = [
    [{ name: 'x'.repeat(11) }, {}, 400, 'SNT_VALIDATION_FAILED'],
    [{ name: 'ada', admin: true }, {}, 400, 'SNT_VALIDATION_FAILED'],
    [{}, {}, 400, 'SNT_VALIDATION_FAILED'],
    ['{"name": "ada"', { 'content-type': 'application/json' }, 400, 'SNT_MALFORMED_JSON'],
    [JSON.stringify({ name: 'a'.repeat(2000) }), { 'content-type': 'application/json' }, 413, 'SNT_PAYLOAD_TOO_LARGE'],
    ['name=ada', { 'content-type': 'application/x-www-form-urlencoded' }, 415, 'SNT_UNSUPPORTED_MEDIA_TYPE'],
  ];
  for (const [payload, headers, status, code] of cases) {
    const response = await server.inject({ method: 'POST', url: '/echo', headers: { ...auth, ...headers }, payload });
    assert.equal(response.statusCode, status, `${JSON.stringify(payload).slice(0, 40)} → ${response.body}`);
    assert.equal(response.json().error.code, code);
    assert.match(response.json().traceId, /^[0-9a-f]{32}$/);
  }
  const unknown = await server.inject({ method: 'POST', url: '/echo', headers: auth, payload: { name: 'ada', admin: true } });
  assert.deepEqual(unknown.json().error.details.paths, ['body/admin']);
});

test('errors keep their code and status; a bug is a 500 that says nothing of its internals', async () => {
  const server = app();
  const forbidden = await server.inject({ method: 'GET', url: '/boom' });
  assert.equal(forbidden.statusCode, 403);
  assert.equal(forbidden.json().error.code, 'SNT_FORBIDDEN');
  const bug = await server.inject({ method: 'GET', url: '/bug' });
  assert.equal(bug.statusCode, 500);
  assert.deepEqual(bug.json().error, { code: 'SNT_INTERNAL', message: 'internal error', details: {} });
  const missing = await server.inject({ method: 'GET', url: '/nowhere' });
  assert.equal(missing.json().error.code, 'SNT_NOT_FOUND');
});

test('the caller\'s trace continues: traceparent in, same trace id and a child span out', async () => {
  const server = app();
  const traceId = '4bf92f3577b34da6a3ce929d0e0e4736';
  const response = await server.inject({ method: 'POST', url: '/echo', headers: { ...auth, traceparent: `00-${traceId}-00f067aa0ba902b7-01` }, payload: { name: 'ada' } });
  assert.equal(response.headers['x-trace-id'], traceId);
  assert.equal(response.json().trace, traceId);
  assert.equal(response.headers['x-parent-span-id'], '00f067aa0ba902b7');
  assert.match(String(response.headers.traceparent), new RegExp(`^00-${traceId}-[0-9a-f]{16}-01$`));
  assert.equal(response.headers['x-content-type-options'], 'nosniff');
});

test('rate limits answer 429 with RateLimit-* and Retry-After headers; probes are not limited', async () => {
  const server = app({ limit: 2 });
  const statuses: number[] = [];
  let last;
  for (let i = 0; i < 3; i++) {
    last = await server.inject({ method: 'POST', url: '/echo', headers: auth, payload: { name: 'ada' } });
    statuses.push(last.statusCode);
  }
  assert.deepEqual(statuses, [200, 200, 429]);
  assert.equal(last!.json().error.code, 'SNT_RATE_LIMITED');
  assert.equal(last!.headers['ratelimit-limit'], '2');
  assert.equal(last!.headers['ratelimit-remaining'], '0');
  assert.ok(Number(last!.headers['retry-after']) >= 1);
  for (let i = 0; i < 5; i++) assert.equal((await server.inject({ method: 'GET', url: '/health' })).statusCode, 200);
});

test('/ready is 503 naming the failing dependency; /health and /metrics always answer', async () => {
  const down = app({ ready: false });
  const ready = await down.inject({ method: 'GET', url: '/ready' });
  assert.equal(ready.statusCode, 503);
  assert.deepEqual(ready.json().checks.dep, { ok: false, error: 'down' });
  assert.equal((await down.inject({ method: 'GET', url: '/api/health' })).statusCode, 200);
  const metrics = await down.inject({ method: 'GET', url: '/metrics' });
  assert.match(metrics.body, /sentinel_http_requests_total/);
  assert.equal((await app().inject({ method: 'GET', url: '/ready' })).statusCode, 200);
});

test('a log line never contains a configured secret, even inside messages or nested values', async () => {
  const lines: string[] = [];
  const sink = new Writable({ write(chunk, _enc, done) { lines.push(chunk.toString()); done(); } });
  const secret = 'sk-live-7f3a9c2e1b';
  const logger = createLogger({ service: 't', level: 'info', secrets: [secret, 'pg-pass-"quoted"'], destination: sink });
  logger.info({ headers: { authorization: `Bearer ${secret}` }, nested: { value: `x${secret}y`, password: 'hunter2' } }, `calling with ${secret}`);
  logger.warn({ dsn: 'postgres://u:pg-pass-"quoted"@h/db' }, 'db');
  await new Promise((resolve) => setImmediate(resolve));
  const all = lines.join('');
  assert.equal(all.includes(secret), false);
  assert.equal(all.includes('hunter2'), false);
  assert.equal(all.includes('pg-pass-'), false);
  assert.match(all, /\[REDACTED\]/);
  assert.equal(lines.length, 2);
  for (const line of lines) assert.doesNotThrow(() => JSON.parse(line));
});
