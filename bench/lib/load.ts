// Load generation for HTTP benchmarks: open loop at a fixed arrival rate (latency under load, no
// coordinated omission: each request's time counts from when it was due), and closed loop with a
// fixed number of connections (maximum throughput). Keep-alive connections through node:http.
import http from 'node:http';
import { nowMs, summarize, type Summary } from './stats.ts';

export interface HttpTarget { url: string; method?: string; headers?: Record<string, string>; body?: (i: number) => string }

function request(agent: http.Agent, target: HttpTarget, i: number): Promise<number> {
  const url = new URL(target.url);
  const body = target.body?.(i);
  return new Promise((resolve, reject) => {
    const req = http.request({
      agent, host: url.hostname, port: url.port, path: url.pathname + url.search, method: target.method ?? (body ? 'POST' : 'GET'),
      headers: { ...(body ? { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) } : {}), ...target.headers },
    }, (res) => {
      res.on('data', () => {});
      res.on('end', () => resolve(res.statusCode ?? 0));
    });
    req.on('error', reject);
    req.end(body);
  });
}

export interface LoadResult { latency: Summary; requests: number; errors: number; statuses: Record<string, number>; achievedRate: number }

/**
 * Open-loop pacing: fires request i at start + i/rate whatever earlier requests are doing (a
 * closed loop would hide queueing delay), then waits for all of them. `fire` gets the time the
 * request was due, which latencies are measured from.
 */
export async function paced(rate: number, seconds: number, fire: (index: number, dueMs: number) => Promise<void>): Promise<{ total: number; sendSeconds: number; elapsedSeconds: number }> {
  const total = Math.round(rate * seconds);
  const start = nowMs();
  const pending: Array<Promise<void>> = [];
  for (let i = 0; i < total; i++) {
    const due = start + (i * 1000) / rate;
    const wait = due - nowMs();
    if (wait > 1) await new Promise((r) => setTimeout(r, wait));
    pending.push(fire(i, due));
  }
  const sendSeconds = (nowMs() - start) / 1000;
  await Promise.all(pending);
  return { total, sendSeconds, elapsedSeconds: (nowMs() - start) / 1000 };
}

export async function openLoop(target: HttpTarget, rate: number, seconds: number, maxSockets = 256): Promise<LoadResult> {
  const agent = new http.Agent({ keepAlive: true, maxSockets });
  const latencies: number[] = [];
  const statuses: Record<string, number> = {};
  let errors = 0;
  const { total, elapsedSeconds } = await paced(rate, seconds, (i, due) => request(agent, target, i).then((status) => {
    latencies.push(nowMs() - due);
    statuses[status] = (statuses[status] ?? 0) + 1;
  }, () => { errors++; }));
  agent.destroy();
  return { latency: summarize(latencies), requests: total, errors, statuses, achievedRate: total / elapsedSeconds };
}

export async function closedLoop(target: HttpTarget, connections: number, seconds: number): Promise<LoadResult> {
  const agent = new http.Agent({ keepAlive: true, maxSockets: connections });
  const latencies: number[] = [];
  const statuses: Record<string, number> = {};
  let errors = 0;
  let i = 0;
  const end = nowMs() + seconds * 1000;
  const start = nowMs();
  await Promise.all(Array.from({ length: connections }, async () => {
    while (nowMs() < end) {
      const t = nowMs();
      try {
        const status = await request(agent, target, i++);
        statuses[status] = (statuses[status] ?? 0) + 1;
        latencies.push(nowMs() - t);
      } catch {
        errors++;
      }
    }
  }));
  agent.destroy();
  return { latency: summarize(latencies), requests: latencies.length, errors, statuses, achievedRate: latencies.length / ((nowMs() - start) / 1000) };
}

/** A bare node:http server answering a small JSON body: the same-run baseline for HTTP figures. */
export async function bareHttpServer(): Promise<{ url: string; close(): Promise<void> }> {
  const server = http.createServer((req, res) => {
    req.on('data', () => {});
    req.on('end', () => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end('{"ok":true}');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  return { url: `http://127.0.0.1:${port}/`, close: () => new Promise((resolve) => server.close(() => resolve())) };
}
