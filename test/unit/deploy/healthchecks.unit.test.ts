// The HTTP health checks of docker-compose.yml, run for real (no Docker needed): each command
// is executed against a loopback server standing in for the service, which answers 200 on the
// one path the service really serves its health on, 404 elsewhere, or 503 when told to. The
// check must pass on 200 only, so a wrong path, port or status handling fails here.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { arr, loadCompose, obj } from './support.ts';

/** Where each service answers its health: the seed's paths for ours, the upstream ones for the rest. */
const HEALTH: Readonly<Record<string, { port: number; path: string }>> = {
  channels: { port: 8080, path: '/api/health' },
  policy: { port: 5000, path: '/api/health' },
  signer: { port: 3000, path: '/health' },
  executor: { port: 7000, path: '/health' },
  // Apicurio 3 serves Quarkus' /health/* on the management port 9000; 8080 serves the APIs.
  registry: { port: 8080, path: '/apis/ccompat/v7/subjects' },
  qdrant: { port: 6333, path: '/readyz' },
};

let server: Server;
let port = 0;
let status = 200;
let healthyPath = '/';
const seen: string[] = [];

before(async () => {
  server = createServer((req, res) => {
    seen.push(req.url ?? '');
    res.statusCode = req.url === healthyPath ? status : 404;
    res.end('{}');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  port = (server.address() as AddressInfo).port;
});

after(async () => {
  await new Promise<void>((resolve) => server.close(() => resolve()));
});

/** The compose health-check command of a service, pointed at the stand-in server. */
function command(service: string, expectedPort: number): string[] {
  const test = arr(obj(obj(obj(loadCompose(), 'services'), service), 'healthcheck'), 'test').map(String);
  assert.equal(test[0], 'CMD', `${service}: an exec-form health check`);
  const argv = test.slice(1).map((a) => {
    return a.replaceAll(`127.0.0.1:${expectedPort}/`, `127.0.0.1:${port}/`).replaceAll(`/127.0.0.1/${expectedPort} `, `/127.0.0.1/${port} `);
  });
  assert.notDeepEqual(argv, test.slice(1), `${service}: the health check does not call 127.0.0.1:${expectedPort}`);
  // The image runs node from PATH; here it is this test's node.
  if (argv[0] === 'node') argv[0] = process.execPath;
  return argv;
}

/** Runs a command asynchronously (the stand-in server lives in this process) and gives its exit code. */
function run(argv: readonly string[]): Promise<number | null> {
  const [cmd, ...args] = argv;
  if (cmd === undefined) throw new Error('empty command');
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { stdio: 'ignore', timeout: 10_000 });
    child.on('error', reject);
    child.on('exit', (code) => resolve(code));
  });
}

describe('compose health checks against a stand-in service', () => {
  for (const [service, where] of Object.entries(HEALTH)) {
    it(`${service}: healthy on 200 at ${where.path}, unhealthy on 503 or at any other path`, async () => {
      const argv = command(service, where.port);
      healthyPath = where.path;
      status = 200;
      seen.length = 0;
      assert.equal(await run(argv), 0, `${service} should be healthy`);
      assert.deepEqual(seen, [where.path]);
      status = 503;
      assert.notEqual(await run(argv), 0, `${service} should be unhealthy on 503`);
      status = 200;
      healthyPath = '/somewhere-else';
      assert.notEqual(await run(argv), 0, `${service} should be unhealthy when ${where.path} is not served`);
    });
  }

  it('fails when nothing listens', async () => {
    const argv = command('signer', 3000).map((a) => a.replaceAll(`127.0.0.1:${port}/`, '127.0.0.1:1/'));
    assert.notEqual(await run(argv), 0);
  });
});
