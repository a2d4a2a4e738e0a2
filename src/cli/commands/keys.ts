// `sentinel keys rotate`: asks the running signer (BRIDGE_URL, with API_KEY) to rotate its signing
// key now (POST /admin/keys/rotate). `sentinel keys list`: reads the compacted
// sentinel.signing-keys topic in full — the registry every executor verifies with — and prints it
// (or, with --source bridge, the signer's GET /public-key).
import { randomUUID } from 'node:crypto';
import { listKeyRecords } from '../../approval/keys/registry.ts';
import { keyRecordToJwk, type JwkEntry } from '../../approval/keys/jwks.ts';
import { loadConfig } from '../../config/index.ts';
import { SigningKeyPublished } from '../../contracts/events.ts';
import { SentinelError } from '../../errors/index.ts';
import { createMessaging } from '../../kafka/client.ts';
import { KeyTopicReader } from '../../keyset/reader.ts';
import { createLogger } from '../../observability/log.ts';
import { loadCatalog } from '../../serde/catalog.ts';
import { EventCodec } from '../../serde/codec.ts';
import { HttpSchemaRegistry } from '../../serde/registry.ts';
import type { Command } from './index.ts';

function bridgeHeaders(apiKeys: readonly string[]): Record<string, string> {
  const headers: Record<string, string> = { 'content-type': 'application/json' };
  if (apiKeys[0] !== undefined) headers.authorization = `Bearer ${apiKeys[0]}`;
  return headers;
}

async function bridgeCall(url: string, init: RequestInit): Promise<Record<string, unknown>> {
  let response: Response;
  try {
    response = await fetch(url, { ...init, signal: AbortSignal.timeout(30_000) });
  } catch (error) {
    throw new SentinelError('SNT_DEPENDENCY_UNAVAILABLE', `cannot reach the signer at ${url}: ${(error as Error).message}`, { cause: error });
  }
  const body = (await response.json().catch(() => ({}))) as Record<string, unknown> & { error?: { code?: string; message?: string } };
  if (!response.ok) {
    const code = body.error?.code ?? 'SNT_INTERNAL';
    throw new SentinelError(code === 'SNT_CONFLICT' || code === 'SNT_UNAUTHENTICATED' || code === 'SNT_NOT_FOUND' ? code : 'SNT_INTERNAL',
      `${init.method ?? 'GET'} ${url}: ${response.status} ${body.error?.code ?? ''} ${body.error?.message ?? ''}`.trim());
  }
  return body;
}

function printKeys(keys: readonly JwkEntry[], json: boolean): void {
  if (json) {
    process.stdout.write(`${JSON.stringify({ keys }, null, 2)}\n`);
    return;
  }
  const iso = (ms: number | null) => (ms === null ? '-' : new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z'));
  process.stdout.write(`${'kid'.padEnd(44)} ${'status'.padEnd(8)} ${'origin'.padEnd(14)} ${'notBefore'.padEnd(20)} ${'notAfter'.padEnd(20)} revokedAt\n`);
  for (const k of keys) {
    process.stdout.write(`${k.kid.padEnd(44)} ${k.status.padEnd(8)} ${k.origin.padEnd(14)} ${iso(k.notBefore).padEnd(20)} ${iso(k.notAfter).padEnd(20)} ${iso(k.revokedAt)}\n`);
  }
}

async function keysFromTopic(): Promise<JwkEntry[]> {
  const config = loadConfig('cli');
  const logger = createLogger({ service: 'cli', level: config.logLevel === 'info' ? 'warn' : config.logLevel });
  const messaging = createMessaging({ brokers: config.kafka.brokers, clientId: `${config.kafka.clientId}-cli`, client: config.kafka.client });
  const admin = messaging.admin();
  const topic = config.kafka.topicPrefix + SigningKeyPublished.topic;
  const codec = new EventCodec(new HttpSchemaRegistry(config.registry.url), loadCatalog());
  codec.useReader(topic, SigningKeyPublished.schemaName);
  const reader = new KeyTopicReader({ messaging, admin, codec, topic, groupId: `${config.kafka.topicPrefix}sentinel-cli-keys-${randomUUID()}`, logger });
  try {
    reader.start();
    if (!(await reader.catchUp(30_000))) throw new SentinelError('SNT_TIMEOUT', `could not read ${topic} to its end within 30 s`);
    return listKeyRecords(reader.registry).map(keyRecordToJwk);
  } finally {
    await reader.stop();
    await admin.close();
  }
}

export const keyCommands: Record<string, Command> = {
  'keys rotate': {
    summary: 'rotate the signer\'s signing key now (POST BRIDGE_URL/admin/keys/rotate with API_KEY)',
    options: { url: { type: 'string' } },
    async run(values) {
      const config = loadConfig('cli');
      const base = typeof values.url === 'string' ? values.url.replace(/\/+$/, '') : config.urls.bridge;
      const result = await bridgeCall(`${base}/admin/keys/rotate`, { method: 'POST', headers: bridgeHeaders(config.security.apiKeys), body: '{}' });
      process.stdout.write(result.rotated
        ? `rotated ${String(result.previousKeyId)} -> ${String(result.currentKeyId)} (${String(result.reason)})\n`
        : `not rotated: ${String(result.message ?? 'not due')}\n`);
      return 0;
    },
  },
  'keys list': {
    summary: 'print the signing-key registry (the compacted key topic; --source bridge for GET /public-key), --json',
    options: { source: { type: 'string' }, json: { type: 'boolean' }, url: { type: 'string' } },
    async run(values) {
      const json = values.json === true;
      if (values.source === 'bridge') {
        const config = loadConfig('cli');
        const base = typeof values.url === 'string' ? values.url.replace(/\/+$/, '') : config.urls.bridge;
        const body = await bridgeCall(`${base}/public-key`, { method: 'GET' });
        printKeys(body.keys as JwkEntry[], json);
        return 0;
      }
      if (values.source !== undefined && values.source !== 'topic') throw new SentinelError('SNT_VALIDATION_FAILED', '--source is topic or bridge');
      printKeys(await keysFromTopic(), json);
      return 0;
    },
  },
};
