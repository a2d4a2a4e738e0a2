// The web chat session handler over a real WebSocket on 127.0.0.1, driven by a `ws` client as the
// page would: sign-in, messages, replies, approval prompts and answers, and every kind of bad frame.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { once } from 'node:events';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { test } from 'node:test';
import { WebSocket } from 'ws';
import { parseIdentityLinks } from '../../../src/channels/identity/links.ts';
import { validateWebchatServerFrame } from '../../../src/channels/schemas.ts';
import type { AdapterHandlers, ApprovalAnswer, InboundMessage } from '../../../src/channels/types.ts';
import { createWebChat, type WebChatAdapter, type WebChatOptions } from '../../../src/channels/webchat/server.ts';
import type { ApprovalPrompt } from '../../../src/domain/types.ts';

const DIRECTORY = parseIdentityLinks(`
version: 1
users:
  alice: { displayName: Alice Adams, identities: { web: alice } }
  carol: { displayName: Carol Chen, identities: { web: carol } }
roles:
  treasury: { members: [carol] }
`);
const NOW = Date.UTC(2025, 10, 25, 19, 0, 0);

type Frame = Record<string, unknown> & { type: string };

/** A test client: collects frames, validates each against the server schema, waits for matches. */
class Client {
  readonly frames: Frame[] = [];
  readonly socket: WebSocket;
  readonly raw: string[] = [];
  closed: { code: number; reason: string } | null = null;
  #waiters: Array<() => void> = [];

  constructor(url: string, headers: Record<string, string> = {}) {
    this.socket = new WebSocket(url, { headers });
    this.socket.on('message', (data) => {
      const text = String(data);
      this.raw.push(text);
      const frame = JSON.parse(text) as Frame;
      assert.ok(validateWebchatServerFrame(frame), `server frame violates its schema: ${text} ${JSON.stringify(validateWebchatServerFrame.errors)}`);
      this.frames.push(frame);
      this.#waiters.splice(0).forEach((w) => w());
    });
    this.socket.on('close', (code, reason) => {
      this.closed = { code, reason: String(reason) };
      this.#waiters.splice(0).forEach((w) => w());
    });
    this.socket.on('error', () => undefined);
  }

  async open(): Promise<this> {
    await once(this.socket, 'open');
    return this;
  }

  send(frame: unknown): string {
    const text = typeof frame === 'string' ? frame : JSON.stringify(frame);
    this.socket.send(text);
    return text;
  }

  async next(predicate: (f: Frame) => boolean, what: string, timeoutMs = 3000): Promise<Frame> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const found = this.frames.find(predicate);
      if (found) {
        this.frames.splice(this.frames.indexOf(found), 1);
        return found;
      }
      if (Date.now() > deadline) throw new Error(`no ${what}; frames: ${JSON.stringify(this.frames)}`);
      await new Promise<void>((resolve) => {
        this.#waiters.push(resolve);
        setTimeout(resolve, 25);
      });
    }
  }

  async signIn(userId: string): Promise<Frame> {
    this.send({ type: 'hello', protocol: 1, userId });
    return this.next((f) => f.type === 'welcome' || f.type === 'error', 'welcome');
  }

  async waitClosed(timeoutMs = 3000): Promise<{ code: number; reason: string }> {
    const deadline = Date.now() + timeoutMs;
    while (this.closed === null) {
      if (Date.now() > deadline) throw new Error('socket not closed');
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    return this.closed;
  }

  close(): void {
    this.socket.terminate();
  }
}

function recorder() {
  const messages: InboundMessage[] = [];
  const answers: ApprovalAnswer[] = [];
  let failing = false;
  const handlers: AdapterHandlers = {
    async onMessage(m) {
      if (failing) throw new Error('kafka down');
      messages.push(m);
    },
    async onApprovalAnswer(a) {
      if (failing) throw new Error('kafka down');
      answers.push(a);
    },
  };
  return { messages, answers, handlers, fail: (v: boolean) => { failing = v; } };
}

function prompt(overrides: Partial<ApprovalPrompt> = {}): ApprovalPrompt {
  return {
    decisionId: 'dec-w1', intentId: 'int-9',
    requester: { userId: 'alice', channel: 'web', channelUserId: 'alice', displayName: 'Alice Adams' },
    actionSummary: 'Transfer 5,000.00 USD to <script>alert(1)</script>', riskTier: 'high', reason: 'Above the automatic limit',
    deadline: NOW + 15 * 60_000, approvers: ['role:treasury'], requiredApprovals: 1, status: 'pending', decidedBy: null,
    ...overrides,
  };
}

async function setUp(t: { after(fn: () => Promise<void>): void }, extra: Partial<WebChatOptions> = {}) {
  let n = 0;
  const chat: WebChatAdapter = createWebChat({
    directory: DIRECTORY, signIn: 'dev', clock: () => NOW, newId: () => `id${++n}`, maxFrameBytes: 4096, maxPayloadBytes: 8192,
    rateLimit: { frames: 5, windowMs: 60_000 }, ...extra,
  });
  const server: Server = createServer((_req, res) => res.writeHead(404).end());
  chat.attach(server);
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const rec = recorder();
  await chat.start(rec.handlers);
  const clients: Client[] = [];
  t.after(async () => {
    for (const c of clients) c.close();
    await chat.stop();
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });
  const base = `ws://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const connect = async (path = '/ws', headers: Record<string, string> = {}) => {
    const client = new Client(`${base}${path}`, headers);
    clients.push(client);
    return client.open();
  };
  return { chat, rec, connect, base };
}

test('web chat: sign-in, messages and replies', async (t) => {
  const { chat, rec, connect } = await setUp(t);

  await t.test('dev sign-in resolves the identity and its roles', async () => {
    const carol = await connect();
    assert.deepEqual(await carol.signIn('carol'), {
      type: 'welcome', sessionId: 'id1', conversationId: 'carol',
      user: { userId: 'carol', displayName: 'Carol Chen', roles: ['treasury'], guest: false }, maxTextLength: 2000,
    });
    const stranger = await connect();
    const welcome = await stranger.signIn('mallory');
    assert.deepEqual(welcome.user, { userId: 'guest:web:mallory', displayName: null, roles: [], guest: true });
    const again = stranger.send({ type: 'hello', protocol: 1, userId: 'carol' });
    assert.ok(again);
    assert.equal((await stranger.next((f) => f.type === 'error', 'conflict')).code, 'SNT_CONFLICT');
  });

  await t.test('a message is refused before sign-in, and taken after it', async () => {
    const alice = await connect();
    alice.send({ type: 'message', id: 'm1', text: 'transfer $5 to bob' });
    assert.deepEqual(await alice.next((f) => f.type === 'error', 'refusal'), { type: 'error', code: 'SNT_UNAUTHENTICATED', message: 'say hello (sign in) first', id: 'm1' });
    assert.equal(rec.messages.length, 0);
    await alice.signIn('alice');
    alice.send({ type: 'message', id: 'm2', text: 'transfer $5 to bob' });
    assert.deepEqual(await alice.next((f) => f.type === 'ack', 'ack'), { type: 'ack', id: 'm2', messageId: 'm2' });
    assert.deepEqual(rec.messages, [{
      channel: 'web', conversationId: 'alice', channelUserId: 'alice', displayName: 'Alice Adams', text: 'transfer $5 to bob',
      platformMessageId: 'm2', authenticatedBy: 'webchat-dev-signin', receivedAt: NOW,
    }]);
  });

  await t.test('replies reach every open tab of the conversation', async () => {
    const tab1 = await connect();
    await tab1.signIn('alice');
    const tab2 = await connect();
    await tab2.signIn('alice');
    const ref = await chat.sendText({ kind: 'conversation', conversationId: 'alice' }, 'Transfer done.');
    for (const tab of [tab1, tab2]) {
      assert.deepEqual(await tab.next((f) => f.type === 'reply', 'reply'), { type: 'reply', messageId: ref.messageId, text: 'Transfer done.', at: new Date(NOW).toISOString() });
    }
  });

  await t.test('replies to someone who is away wait for their next sign-in', async () => {
    await chat.sendText({ kind: 'user', channelUserId: 'bob' }, 'Your command ran.');
    const bob = await connect();
    await bob.signIn('bob');
    assert.equal((await bob.next((f) => f.type === 'reply', 'backlog')).text, 'Your command ran.');
  });

  await t.test('when the service cannot take a message the page is told', async () => {
    const alice = await connect();
    await alice.signIn('alice');
    rec.fail(true);
    try {
      alice.send({ type: 'message', id: 'm9', text: 'run uptime on web-2' });
      const error = await alice.next((f) => f.type === 'error', 'error');
      assert.equal(error.code, 'SNT_DEPENDENCY_UNAVAILABLE');
      assert.equal(error.id, 'm9');
    } finally {
      rec.fail(false);
    }
  });
});

test('web chat: approval prompts and answers', async (t) => {
  const { chat, rec, connect } = await setUp(t);
  const carol = await connect();
  await carol.signIn('carol');
  const ref = await chat.sendPrompt({ kind: 'user', channelUserId: 'carol' }, prompt());

  await t.test('an approver sees the prompt: action, risk tier, reason, deadline', async () => {
    const frame = await carol.next((f) => f.type === 'prompt', 'prompt');
    assert.equal(frame.messageId, ref.messageId);
    assert.deepEqual(frame.prompt, {
      decisionId: 'dec-w1', intentId: 'int-9', requester: { userId: 'alice', displayName: 'Alice Adams' },
      actionSummary: 'Transfer 5,000.00 USD to <script>alert(1)</script>', riskTier: 'high', reason: 'Above the automatic limit',
      deadline: new Date(NOW + 15 * 60_000).toISOString(), approvers: ['role:treasury'], requiredApprovals: 1, status: 'pending', decidedBy: null,
    });
  });

  await t.test('an answer becomes an ApprovalAnswer bound to the prompt and the exact frame', async () => {
    const raw = carol.send({ type: 'answer', id: 'a1', decisionId: 'dec-w1', verdict: 'approve' });
    assert.deepEqual(await carol.next((f) => f.type === 'ack', 'ack'), { type: 'ack', id: 'a1' });
    assert.deepEqual(rec.answers, [{
      decisionId: 'dec-w1', verdict: 'approve', platform: 'web', platformUserId: 'carol', displayName: 'Carol Chen', conversationId: 'carol',
      platformMessageId: ref.messageId, authenticatedBy: 'webchat-dev-signin',
      callbackDigest: `sha256:${createHash('sha256').update(raw).digest('hex')}`, receivedAt: NOW,
    }]);
  });

  await t.test('an approver who signs in later still gets the pending prompt', async () => {
    const tab = await connect();
    await tab.signIn('carol');
    assert.equal(((await tab.next((f) => f.type === 'prompt', 'replayed prompt')).prompt as { decisionId: string }).decisionId, 'dec-w1');
  });

  await t.test('a status change updates the card; decided prompts are not replayed', async () => {
    await chat.updatePrompt(ref, prompt({ status: 'approved', decidedBy: 'carol' }));
    const update = await carol.next((f) => f.type === 'prompt-update', 'update');
    assert.equal(update.messageId, ref.messageId);
    assert.deepEqual([(update.prompt as { status: string }).status, (update.prompt as { decidedBy: string }).decidedBy], ['approved', 'carol']);
    const late = await connect();
    await late.signIn('carol');
    await late.send({ type: 'ping', id: 'p1' });
    await late.next((f) => f.type === 'pong', 'pong');
    assert.ok(!late.frames.some((f) => f.type === 'prompt'), 'no stale prompt');
  });

  await t.test('anyone signed in may answer; the adapter passes identity through and the signer decides', async () => {
    const alice = await connect();
    await alice.signIn('alice');
    alice.send({ type: 'answer', id: 'a2', decisionId: 'dec-w1', verdict: 'approve' });
    await alice.next((f) => f.type === 'ack', 'ack');
    assert.equal(rec.answers.at(-1)!.platformUserId, 'alice');
  });
});

test('web chat: bad frames get error frames and change nothing; the session survives', async (t) => {
  const { rec, connect } = await setUp(t);
  const c = await connect();
  await c.signIn('alice');
  const cases: Array<[string | Buffer, string, string[] | undefined]> = [
    ['{"type": "message", ', 'SNT_MALFORMED_JSON', undefined],
    ['[]', 'SNT_VALIDATION_FAILED', ['']],
    [JSON.stringify({ type: 'message', id: 'x1' }), 'SNT_VALIDATION_FAILED', ['/text']],
    [JSON.stringify({ type: 'message', id: 'x2', text: 'hi', admin: true }), 'SNT_VALIDATION_FAILED', ['/admin']],
    [JSON.stringify({ type: 'answer', id: 'x3', decisionId: 'dec 1', verdict: 'maybe' }), 'SNT_VALIDATION_FAILED', ['/decisionId', '/verdict']],
    [JSON.stringify({ type: 'transfer', amount: 5 }), 'SNT_VALIDATION_FAILED', ['/type']],
    [JSON.stringify({ type: 'message', id: 'x4', text: 'y'.repeat(4100) }), 'SNT_PAYLOAD_TOO_LARGE', undefined],
  ];
  for (const [data, code, paths] of cases) {
    c.send(data);
    const error = await c.next((f) => f.type === 'error', `error for ${String(data).slice(0, 40)}`);
    assert.equal(error.code, code, String(data));
    if (paths) assert.deepEqual(error.paths, paths, String(data));
  }
  c.socket.send(Buffer.from([1, 2, 3]), { binary: true });
  assert.equal((await c.next((f) => f.type === 'error', 'binary')).code, 'SNT_UNSUPPORTED_MEDIA_TYPE');
  c.send({ type: 'message', id: 'x5', text: 'x'.repeat(2001) });
  const tooLong = await c.next((f) => f.type === 'error', 'too long');
  assert.deepEqual([tooLong.code, tooLong.paths, tooLong.id], ['SNT_VALIDATION_FAILED', ['/text'], 'x5']);
  assert.equal(rec.messages.length, 0);
  c.send({ type: 'ping', id: 'alive' });
  assert.deepEqual(await c.next((f) => f.type === 'pong', 'pong'), { type: 'pong', id: 'alive' });

  await t.test('a flood is rate limited per session', async () => {
    for (let i = 0; i < 7; i++) c.send({ type: 'message', id: `r${i}`, text: 'pay bob 1' });
    const limited = await c.next((f) => f.type === 'error' && f.code === 'SNT_RATE_LIMITED', 'rate limit');
    assert.equal(limited.id, 'r5');
    assert.equal(rec.messages.length, 5);
  });

  await t.test('a frame above the transport limit closes the socket with 1009', async () => {
    const big = await connect();
    big.send('x'.repeat(9000));
    assert.equal((await big.waitClosed()).code, 1009);
  });
});

test('web chat: sign-in hook, origins and paths', async (t) => {
  const { connect, base } = await setUp(t, {
    signIn: async ({ userId, token }) => (token === `valid-for-${userId}` ? { channelUserId: userId } : null),
    allowedOrigins: ['https://chat.example'],
  });

  await t.test('a hook refusal is an error frame; three refusals close the socket', async () => {
    const c = await connect('/ws', { origin: 'https://chat.example' });
    for (let i = 0; i < 3; i++) {
      c.send({ type: 'hello', protocol: 1, userId: 'carol', token: 'forged' });
      assert.equal((await c.next((f) => f.type === 'error', 'refusal')).code, 'SNT_UNAUTHENTICATED');
    }
    assert.equal((await c.waitClosed()).code, 4401);
  });

  await t.test('a valid token signs in as a session, not dev', async () => {
    const c = await connect('/ws', { origin: 'https://chat.example' });
    c.send({ type: 'hello', protocol: 1, userId: 'carol', token: 'valid-for-carol' });
    assert.equal((await c.next((f) => f.type === 'welcome', 'welcome')).conversationId, 'carol');
  });

  await t.test('other origins and other paths are refused at the upgrade', async () => {
    for (const [path, headers, status] of [['/ws', { origin: 'https://evil.example' }, 403], ['/other', { origin: 'https://chat.example' }, 404]] as const) {
      const socket = new WebSocket(`${base}${path}`, { headers });
      socket.on('error', () => undefined);
      const [, response] = (await once(socket, 'unexpected-response')) as [unknown, { statusCode: number }];
      assert.equal(response.statusCode, status);
      socket.terminate();
    }
  });
});

test('web chat: a socket that never says hello is closed', async (t) => {
  const { connect } = await setUp(t, { helloTimeoutMs: 100 });
  const c = await connect();
  assert.equal((await c.waitClosed()).code, 4408);
});
