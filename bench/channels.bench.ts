// Issue 6's benchmark: POST /api/message of the channels service (an agent's tool call: API key,
// shared rate limit in Redis, schema validation, the intent durably written to Kafka before the
// 202, the message recorded in PostgreSQL), requests/s and latency percentiles at a fixed
// concurrency, as a ratio to a bare node:http server measured with the same load generator in the
// same run. Both servers run in their own child process; the load generator in this one. On our
// 2-core machines Kafka, the registry, PostgreSQL and Redis run on the same cores.
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { createPool } from '../src/db/pg.ts';
import { startServiceProcess } from '../test/support/service-process.ts';
import { benchBus, benchConfig } from './lib/infra.ts';
import { closedLoop, openLoop, type HttpTarget, type LoadResult } from './lib/load.ts';
import { writeReport } from './lib/report.ts';
import { fmt, fmtInt } from './lib/stats.ts';

const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 64);
/** A lighter load as well, to show latency below saturation. */
const LOW_CONCURRENCY = Number(process.env.BENCH_LOW_CONCURRENCY ?? 16);
const SECONDS = Number(process.env.BENCH_SECONDS ?? 10);
const RATE = Number(process.env.BENCH_RATE ?? 1000); // the seed's ingress target: 1,000 req/s at p95 < 500 ms
const KEY = `bench-key-${randomBytes(8).toString('hex')}`;
const config = benchConfig();
const run = randomBytes(3).toString('hex');

/** A bare node:http server in its own process: reads the body, answers a small JSON. */
async function bareServer(): Promise<{ url: string; stop(): Promise<void> }> {
  const code = `
    const http = require('node:http');
    const server = http.createServer((req, res) => {
      const chunks = [];
      req.on('data', (c) => chunks.push(c));
      req.on('end', () => { JSON.parse(Buffer.concat(chunks).toString() || '{}'); res.writeHead(202, { 'content-type': 'application/json' }); res.end('{"status":"accepted"}'); });
    });
    server.keepAliveTimeout = 60000;
    server.listen(0, '127.0.0.1', () => process.stdout.write(String(server.address().port) + '\\n'));`;
  const child = spawn(process.execPath, ['-e', code], { stdio: ['ignore', 'pipe', 'inherit'] });
  const [chunk] = (await once(child.stdout!, 'data')) as [Buffer];
  return {
    url: `http://127.0.0.1:${chunk.toString().trim()}/api/message`,
    async stop() { child.kill('SIGTERM'); await once(child, 'exit'); },
  };
}

function target(url: string): HttpTarget {
  return {
    url,
    headers: { authorization: `Bearer ${KEY}` },
    body: (i) => JSON.stringify({
      userId: `bench-${run}-agent-${i % 500}`,
      toolCall: { tool: 'command_run', arguments: { host: `host-${i % 50}`, command: 'uptime' } },
    }),
  };
}

function row(name: string, r: LoadResult): Array<string | number> {
  return [name, fmtInt(r.achievedRate), fmt(r.latency.p50), fmt(r.latency.p95), fmt(r.latency.p99), fmt(r.latency.max), String(r.errors), JSON.stringify(r.statuses)];
}

const bus = await benchBus(config, 'channels');
const port = 17_000 + Math.floor(Math.random() * 1000);
const service = await startServiceProcess('producers/channels/main.ts', port, {
  TOPIC_PREFIX: bus.prefix, POSTGRES_DB: 'sentinel_bench', REDIS_KEY_PREFIX: `bench:${run}:`, INSTANCE_ID: 'bench-channels',
  API_KEY: KEY, RATE_LIMIT_MAX_REQUESTS: '10000000', WS_PORT: String(port + 1), NODE_ENV: 'development',
});
// Each run starts from empty channels tables (history of earlier runs would make later runs slower).
const db = createPool({ ...config.postgres, database: 'sentinel_bench' }, { max: 1, applicationName: 'bench-channels' });
await db.query('TRUNCATE channel_messages, channel_conversations, channel_deliveries, channel_approval_prompts, channel_prompt_refs');
await db.query('VACUUM ANALYZE channel_messages');
await db.end();
const bare = await bareServer();
const channelsTarget = target(`${service.url}/api/message`);
const bareTarget = target(bare.url);

// Warm-up (JIT, connection pools, producer metadata), then the measured runs; the baseline before
// and after the service, so a drift of the machine during the run shows.
await closedLoop(channelsTarget, CONCURRENCY, 3);
await closedLoop(bareTarget, CONCURRENCY, 2);
const bareBefore = await closedLoop(bareTarget, CONCURRENCY, SECONDS);
const closed = await closedLoop(channelsTarget, CONCURRENCY, SECONDS);
const bareAfter = await closedLoop(bareTarget, CONCURRENCY, SECONDS);
const closedLow = await closedLoop(channelsTarget, LOW_CONCURRENCY, SECONDS);
const bareLow = await closedLoop(bareTarget, LOW_CONCURRENCY, SECONDS);
const open = await openLoop(channelsTarget, RATE, SECONDS);
const bareOpen = await openLoop(bareTarget, RATE, SECONDS);
const accepted = await (await fetch(`${service.url}/metrics`)).text();
await service.stop();
await bare.stop();
await bus.cleanup();

const bareRate = (bareBefore.achievedRate + bareAfter.achievedRate) / 2;
const goalMet = closed.achievedRate >= 10_000 && closed.latency.p95 < 20 && closed.errors === 0;
const intents = /sentinel_channels_messages_total\{[^}]*result="intent"[^}]*\} (\d+)/.exec(accepted)?.[1] ?? '?';
writeReport('channels',
  `POST /api/message with an agent's tool call (command_run, 500 requesters) through the channels service in its own process: API key check, ` +
  `shared rate limit in Redis, schema validation, the intent written to Kafka (acks=all, idempotent producer) before the 202, and the ` +
  `message recorded in PostgreSQL. Closed loop: ${CONCURRENCY} (and ${LOW_CONCURRENCY}) concurrent keep-alive connections for ${SECONDS} s after a warm-up; open loop: ` +
  `${RATE} req/s for ${SECONDS} s (latency from when each request was due). The baseline is a bare node:http server (reads and parses the body, ` +
  'answers 202) in its own process, driven by the same load generator in the same run (measured before and after the service; mean). ' +
  'This 2-core machine also runs Kafka, the schema registry, PostgreSQL, Redis and the load generator, so every figure shares the same two cores. ' +
  `Goal: >= 10,000 req/s with p95 < 20 ms. Intents the service accepted during the run: ${intents}.`,
  [
    { title: `Closed loop, ${CONCURRENCY} connections`, columns: ['server', 'req/s', 'p50 ms', 'p95 ms', 'p99 ms', 'max ms', 'errors', 'statuses'], rows: [
      row('channels POST /api/message', closed),
      row('bare node:http (before)', bareBefore),
      row('bare node:http (after)', bareAfter),
      ['ratio channels / bare', fmt(closed.achievedRate / bareRate, 3), fmt(closed.latency.p50 / ((bareBefore.latency.p50 + bareAfter.latency.p50) / 2), 2), fmt(closed.latency.p95 / ((bareBefore.latency.p95 + bareAfter.latency.p95) / 2), 2), '', '', '', ''],
    ] },
    { title: `Closed loop, ${LOW_CONCURRENCY} connections`, columns: ['server', 'req/s', 'p50 ms', 'p95 ms', 'p99 ms', 'max ms', 'errors', 'statuses'], rows: [
      row('channels POST /api/message', closedLow),
      row('bare node:http', bareLow),
      ['ratio channels / bare', fmt(closedLow.achievedRate / bareLow.achievedRate, 3), fmt(closedLow.latency.p50 / bareLow.latency.p50, 2), fmt(closedLow.latency.p95 / bareLow.latency.p95, 2), '', '', '', ''],
    ] },
    { title: `Open loop, ${RATE} req/s`, columns: ['server', 'achieved req/s', 'p50 ms', 'p95 ms', 'p99 ms', 'max ms', 'errors', 'statuses'], rows: [
      row('channels POST /api/message', open),
      row('bare node:http', bareOpen),
    ] },
  ],
  { concurrency: CONCURRENCY, lowConcurrency: LOW_CONCURRENCY, seconds: SECONDS, rate: RATE, closed, bareBefore, bareAfter, closedLow, bareLow, open, bareOpen },
  [
    {
      measure: `POST /api/message req/s at ${CONCURRENCY} connections`, value: closed.achievedRate, unit: '/s', baseline: 'bare node:http', baselineValue: bareRate,
      ratio: closed.achievedRate / bareRate, goal: '>= 10,000 req/s, p95 < 20 ms (seed: 1,000 req/s at p95 < 500 ms)', met: goalMet,
    },
    {
      measure: `POST /api/message p95 at ${CONCURRENCY} connections`, value: closed.latency.p95, unit: 'ms', baseline: 'bare node:http p95',
      baselineValue: (bareBefore.latency.p95 + bareAfter.latency.p95) / 2, ratio: closed.latency.p95 / ((bareBefore.latency.p95 + bareAfter.latency.p95) / 2),
      goal: 'p95 < 20 ms', met: closed.latency.p95 < 20,
    },
  ]);
process.exit(0);
