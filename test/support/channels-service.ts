// Runs the channels service in the test process (test/support/services.ts) and gives each test
// its own people: an identity-links file with fresh user ids and platform ids, so that policy
// context (daily totals, payees, denials) never carries over from another test or run.
import { randomBytes, randomInt } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { TestContext } from 'node:test';
import WebSocket from 'ws';
import { stringify } from 'yaml';
import { buildChannelsService, channelsRuntimeOptions, type ChannelsServiceOverrides } from '../../producers/channels/service.ts';
import type { ServerFrame } from '../../src/channels/webchat/protocol.ts';
import type { TestBus } from './kafka.ts';
import { listeningPort, serviceEnv, startRuntime, type ServiceEnv } from './services.ts';
import { waitFor } from './wait.ts';

export const CHANNELS_TEST_DB = 'sentinel_test_channels';

export interface Person { userId: string; displayName: string; web: string; telegram: number; discord: string; slack: string }
export interface TestPeople { alice: Person; bob: Person; carol: Person; dave: Person; erin: Person; file: string }

/** alice and erin request; carol and bob are finance approvers; bob and dave ops; dave risk officer. erin is nobody's approver. */
export async function writeTestIdentities(t: TestContext): Promise<TestPeople> {
  const run = randomBytes(3).toString('hex');
  const person = (name: string, display: string): Person => ({
    userId: `${name}-${run}`, displayName: `${display} ${run}`, web: `${name}-${run}`,
    telegram: randomInt(100_000_000, 2_000_000_000), discord: `3${String(randomInt(0, 2 ** 40)).padStart(17, '0')}`,
    slack: `U0${randomBytes(4).toString('hex').toUpperCase()}`,
  });
  const people = {
    alice: person('alice', 'Alice'), bob: person('bob', 'Bob'), carol: person('carol', 'Carol'), dave: person('dave', 'Dave'), erin: person('erin', 'Erin'),
  };
  const users = Object.fromEntries(Object.values(people).map((p) => [p.userId, {
    displayName: p.displayName,
    identities: { web: p.web, telegram: String(p.telegram), discord: p.discord, slack: p.slack, http: `${p.userId}-agent` },
  }]));
  const doc = {
    version: 1,
    users,
    roles: {
      'finance-approver': { members: [people.carol.userId, people.bob.userId] },
      'ops-oncall': { members: [people.bob.userId, people.dave.userId] },
      'comms-approver': { members: [people.carol.userId] },
      'risk-officer': { members: [people.dave.userId] },
    },
  };
  const dir = await mkdtemp(path.join(tmpdir(), 'sentinel-identities-'));
  const file = path.join(dir, 'identities.yaml');
  await writeFile(file, stringify(doc));
  t.after(() => rm(dir, { recursive: true, force: true }));
  return { ...people, file };
}

export async function startChannelsService(t: TestContext, bus: TestBus, env: ServiceEnv = {}, overrides: ChannelsServiceOverrides = {}) {
  const runtime = await startRuntime(t, channelsRuntimeOptions, serviceEnv(bus, { POSTGRES_DB: CHANNELS_TEST_DB, ...env }));
  const service = await buildChannelsService(runtime, { schedulerIntervalMs: 250, ...overrides });
  await service.start();
  return {
    runtime, service,
    url: `http://127.0.0.1:${listeningPort(service.http)}`,
    wsUrl: `ws://127.0.0.1:${service.wsPort}/ws`,
  };
}

/** A web chat client (the protocol of docs/webchat-protocol.md) that records every frame. */
export class WebChatClient {
  readonly frames: ServerFrame[] = [];
  readonly socket: WebSocket;
  private constructor(socket: WebSocket) {
    this.socket = socket;
    socket.on('message', (data) => this.frames.push(JSON.parse(String(data)) as ServerFrame));
  }

  static async connect(t: TestContext, url: string, userId: string | null): Promise<WebChatClient> {
    const socket = new WebSocket(url);
    const client = new WebChatClient(socket);
    t.after(() => { socket.terminate(); });
    await new Promise<void>((resolve, reject) => { socket.once('open', () => resolve()); socket.once('error', reject); });
    if (userId !== null) {
      client.send({ type: 'hello', protocol: 1, userId });
      await client.next('welcome');
    }
    return client;
  }

  send(frame: unknown): void {
    this.socket.send(JSON.stringify(frame));
  }

  of<K extends ServerFrame['type']>(type: K): Array<Extract<ServerFrame, { type: K }>> {
    return this.frames.filter((f): f is Extract<ServerFrame, { type: K }> => f.type === type);
  }

  async next<K extends ServerFrame['type']>(type: K, predicate: (frame: Extract<ServerFrame, { type: K }>) => boolean = () => true, timeoutMs = 30_000): Promise<Extract<ServerFrame, { type: K }>> {
    return waitFor(() => this.of(type).find(predicate), { timeoutMs, what: `a ${type} frame (got ${this.frames.map((f) => f.type).join(', ')})` });
  }

  close(): void {
    this.socket.close();
  }
}

export function apiHeaders(key: string): Record<string, string> {
  return { 'content-type': 'application/json', authorization: `Bearer ${key}` };
}

/** A copy of policy/constitution.yaml with other approval deadlines (e.g. { finance: '3s' }), as a file. */
export async function writeTestConstitution(t: TestContext, within: Partial<Record<'finance' | 'ops' | 'confirm', string>>): Promise<string> {
  const { readFile } = await import('node:fs/promises');
  let text = await readFile(new URL('../../policy/constitution.yaml', import.meta.url), 'utf8');
  const current = { finance: '30m', ops: '15m', confirm: '10m' } as const;
  for (const [name, value] of Object.entries(within)) {
    const from = `within: ${current[name as keyof typeof current]}`;
    if (text.split(from).length !== 2) throw new Error(`constitution: "${from}" is not unique`);
    text = text.replace(from, `within: ${value}`);
  }
  const dir = await mkdtemp(path.join(tmpdir(), 'sentinel-constitution-'));
  const file = path.join(dir, 'constitution.yaml');
  await writeFile(file, text);
  t.after(() => rm(dir, { recursive: true, force: true }));
  return file;
}
