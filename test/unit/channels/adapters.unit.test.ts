// Which adapters start from the configuration, and how webhook routes are mounted on node:http.
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { test } from 'node:test';
import { createEnabledAdapters, createWebhookListener } from '../../../src/channels/adapters/index.ts';
import { silentLogger } from '../../../src/channels/adapters/common.ts';
import type { WebhookRoute } from '../../../src/channels/types.ts';
import { loadConfig } from '../../../src/config/index.ts';

const PUBLIC_KEY = 'ab'.repeat(32);

test('an adapter is created for each platform with credentials, and only then', () => {
  const names = (env: Record<string, string>, publicBaseUrl: string | null = null) =>
    createEnabledAdapters({ bots: loadConfig('channels', env).bots, log: silentLogger(), publicBaseUrl }).map((a) => [a.name, a.webhooks.map((w) => w.path)]);
  assert.deepEqual(names({}), []);
  assert.deepEqual(names({ TELEGRAM_BOT_TOKEN: '1:x' }), [['telegram', []]], 'long polling without a public URL');
  assert.deepEqual(names({ TELEGRAM_BOT_TOKEN: '1:x', TELEGRAM_WEBHOOK_SECRET: 's3cret' }, 'https://sentinel.example/'), [['telegram', ['/telegram/webhook']]]);
  assert.deepEqual(names({ DISCORD_BOT_TOKEN: 'd', DISCORD_PUBLIC_KEY: PUBLIC_KEY }), [['discord', ['/discord/interactions']]]);
  assert.deepEqual(names({ SLACK_BOT_TOKEN: 'xoxb-1', SLACK_SIGNING_SECRET: 'sig' }), [['slack', ['/slack/events']]]);
  assert.deepEqual(names({ SLACK_BOT_TOKEN: 'xoxb-1', SLACK_APP_TOKEN: 'xapp-1' }), [['slack', []]], 'Socket Mode needs no route');
  assert.deepEqual(names({ TELEGRAM_BOT_TOKEN: '1:x', DISCORD_BOT_TOKEN: 'd', DISCORD_PUBLIC_KEY: PUBLIC_KEY, SLACK_BOT_TOKEN: 'xoxb-1', SLACK_SIGNING_SECRET: 'sig' }).map(([n]) => n),
    ['telegram', 'discord', 'slack']);
});

test('createWebhookListener: exact paths, POST only, bounded bodies, no crash on handler errors', async (t) => {
  const seen: Buffer[] = [];
  const routes: WebhookRoute[] = [
    { method: 'POST', path: '/ok', maxBodyBytes: 16, handle: async (r) => { seen.push(r.rawBody); return { status: 200, headers: {}, body: 'fine' }; } },
    { method: 'POST', path: '/boom', maxBodyBytes: 16, handle: async () => { throw new Error('bug'); } },
  ];
  const listener = createWebhookListener(routes);
  const server = createServer((req, res) => void listener(req, res).then((handled) => { if (!handled) res.writeHead(418).end(); }));
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  t.after(() => { server.closeAllConnections(); server.close(); });
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  const ok = await fetch(`${base}/ok?x=1`, { method: 'POST', body: 'raw bytes' });
  assert.equal(ok.status, 200);
  assert.equal(await ok.text(), 'fine');
  assert.deepEqual(seen, [Buffer.from('raw bytes')], 'the handler gets the raw body');
  assert.equal((await fetch(`${base}/ok`)).status, 405);
  assert.equal((await fetch(`${base}/elsewhere`, { method: 'POST' })).status, 418, 'not ours: left to the next listener');
  const big = await fetch(`${base}/ok`, { method: 'POST', body: 'x'.repeat(17) });
  assert.equal(big.status, 413);
  assert.equal(((await big.json()) as { error: { code: string } }).error.code, 'SNT_PAYLOAD_TOO_LARGE');
  const boom = await fetch(`${base}/boom`, { method: 'POST', body: '{}' });
  assert.equal(boom.status, 500);
  assert.deepEqual(await boom.json(), { error: { code: 'SNT_INTERNAL', message: 'internal error', details: {} } });
  assert.equal(seen.length, 1);
});
