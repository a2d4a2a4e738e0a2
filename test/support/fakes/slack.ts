// A local fake of Slack (https://api.slack.com), close enough for @slack/bolt and @slack/web-api:
//
// - Web API: POST <apiRoot>/<method> with "Authorization: Bearer <token>" and a form or JSON body,
//   answering { ok: true, ... } or { ok: false, error } with HTTP 200 as Slack does (429 with
//   Retry-After when told to rate-limit). Methods: auth.test, chat.postMessage, chat.update,
//   chat.postEphemeral, conversations.open, apps.connections.open (app-level token).
// - The app's Request URL: like Slack, it POSTs Events API callbacks (JSON), block_actions
//   (form "payload=") and slash commands (form), signed with the signing secret
//   (X-Slack-Signature "v0=" HMAC-SHA256 of "v0:{timestamp}:{body}", X-Slack-Request-Timestamp).
// - Socket Mode: a WebSocket that says hello and delivers the same payloads as envelopes, and
//   records the acknowledgements.
//
// Checks that mirror Slack's: tokens, channel existence, text or blocks required, Block Kit limits
// (50 blocks, section text 3000, 10 fields of 2000, header 150, 25 elements per actions block,
// unique action_id per block and unique block_id, button text 75, value 2000), chat.update only on
// the bot's own messages.
import { createHmac } from 'node:crypto';
import { EventEmitter, once } from 'node:events';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { WebSocketServer, type WebSocket } from 'ws';

export interface FakeSlackMessage {
  channel: string;
  ts: string;
  user: string;
  text: string;
  blocks: Array<Record<string, unknown>> | null;
  history: Array<{ text: string; blocks: Array<Record<string, unknown>> | null }>;
  fromBot: boolean;
}

export interface FakeSlackCall { method: string; args: Record<string, unknown>; ok: boolean; error: string | null }

class SlackError extends Error {
  readonly error: string;
  readonly status: number;
  constructor(error: string, status = 200) {
    super(error);
    this.error = error;
    this.status = status;
  }
}

function plainText(value: unknown, max: number, what: string): void {
  const t = value as { type?: unknown; text?: unknown } | undefined;
  if (!t || (t.type !== 'plain_text' && t.type !== 'mrkdwn') || typeof t.text !== 'string' || t.text.length === 0 || t.text.length > max) {
    throw new SlackError(`invalid_blocks (${what}: text must be 1-${max} characters)`);
  }
}

/** Enough of Slack's Block Kit validation to catch what our renderer could get wrong. */
export function validateBlocks(blocks: unknown): Array<Record<string, unknown>> {
  if (!Array.isArray(blocks) || blocks.length > 50) throw new SlackError('invalid_blocks (at most 50 blocks)');
  const blockIds = new Set<string>();
  for (const [i, raw] of blocks.entries()) {
    const block = raw as Record<string, unknown>;
    const where = `blocks[${i}]`;
    if (typeof block.block_id === 'string') {
      if (block.block_id.length > 255) throw new SlackError(`invalid_blocks (${where}.block_id longer than 255)`);
      if (blockIds.has(block.block_id)) throw new SlackError(`invalid_blocks (${where}.block_id duplicated)`);
      blockIds.add(block.block_id);
    }
    switch (block.type) {
      case 'header':
        plainText(block.text, 150, `${where}.text`);
        if ((block.text as { type: string }).type !== 'plain_text') throw new SlackError(`invalid_blocks (${where}: header text must be plain_text)`);
        break;
      case 'section': {
        if (block.text !== undefined) plainText(block.text, 3000, `${where}.text`);
        const fields = block.fields as unknown[] | undefined;
        if (fields !== undefined) {
          if (!Array.isArray(fields) || fields.length > 10) throw new SlackError(`invalid_blocks (${where}.fields: at most 10)`);
          fields.forEach((f, j) => plainText(f, 2000, `${where}.fields[${j}]`));
        }
        if (block.text === undefined && fields === undefined) throw new SlackError(`invalid_blocks (${where}: section needs text or fields)`);
        break;
      }
      case 'actions': {
        const elements = block.elements as Array<Record<string, unknown>> | undefined;
        if (!Array.isArray(elements) || elements.length === 0 || elements.length > 25) throw new SlackError(`invalid_blocks (${where}.elements: 1-25)`);
        const actionIds = new Set<string>();
        for (const [j, el] of elements.entries()) {
          if (el.type !== 'button') throw new SlackError(`invalid_blocks (${where}.elements[${j}]: the fake only implements buttons)`);
          plainText(el.text, 75, `${where}.elements[${j}].text`);
          const id = String(el.action_id ?? '');
          if (id === '' || id.length > 255 || actionIds.has(id)) throw new SlackError(`invalid_blocks (${where}.elements[${j}].action_id missing, too long or duplicated)`);
          actionIds.add(id);
          if (el.value !== undefined && (typeof el.value !== 'string' || el.value.length > 2000)) throw new SlackError(`invalid_blocks (${where}.elements[${j}].value)`);
          if (el.style !== undefined && el.style !== 'primary' && el.style !== 'danger') throw new SlackError(`invalid_blocks (${where}.elements[${j}].style)`);
        }
        break;
      }
      case 'context': {
        const elements = block.elements as unknown[] | undefined;
        if (!Array.isArray(elements) || elements.length === 0 || elements.length > 10) throw new SlackError(`invalid_blocks (${where}.elements: 1-10)`);
        elements.forEach((e, j) => plainText(e, 3000, `${where}.elements[${j}]`));
        break;
      }
      case 'divider':
        break;
      default:
        throw new SlackError(`invalid_blocks (${where}: unsupported block type ${String(block.type)})`);
    }
  }
  return blocks as Array<Record<string, unknown>>;
}

async function readBody(req: IncomingMessage): Promise<Record<string, unknown>> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  const raw = Buffer.concat(chunks).toString('utf8');
  const type = req.headers['content-type'] ?? '';
  if (raw === '') return {};
  if (type.startsWith('application/json')) return JSON.parse(raw) as Record<string, unknown>;
  const form = Object.fromEntries(new URLSearchParams(raw)) as Record<string, unknown>;
  // web-api sends arrays and objects as JSON strings inside the form.
  for (const key of ['blocks', 'attachments']) {
    if (typeof form[key] === 'string') {
      try {
        form[key] = JSON.parse(form[key]);
      } catch {
        throw new SlackError('invalid_blocks_format');
      }
    }
  }
  return form;
}

export interface SignedDelivery { status: number; body: string; rawBody: string }

export class FakeSlack {
  readonly botToken: string;
  readonly appToken: string;
  readonly teamId = 'T0SENTINEL';
  readonly botUserId = 'U0SENTBOT1';
  readonly botId = 'B0SENTBOT1';
  readonly calls: FakeSlackCall[] = [];
  readonly ephemerals: Array<{ channel: string; user: string; text: string }> = [];
  /** Acknowledgements received over Socket Mode, by envelope id. */
  readonly socketAcks = new Map<string, unknown>();
  /** Set to make chat.postMessage / chat.update fail: a Slack error string ("channel_not_found") or 429. */
  failSendsWith: string | 429 | null = null;
  /** Where Slack sends callbacks (the app's Request URL) and the secret it signs them with. */
  app: { requestUrl: string; signingSecret: string } | null = null;

  readonly #server: Server;
  readonly #wss: WebSocketServer;
  readonly #events = new EventEmitter();
  readonly #messages = new Map<string, FakeSlackMessage>();
  readonly #channels = new Set<string>(['C0GENERAL1']);
  readonly #dms = new Map<string, string>();
  readonly #sockets = new Set<WebSocket>();
  #clock = 1_700_000_000_000;
  #counter = 0;
  #origin = '';

  private constructor(botToken: string, appToken: string) {
    this.botToken = botToken;
    this.appToken = appToken;
    this.#server = createServer((req, res) => void this.#handle(req, res));
    this.#wss = new WebSocketServer({ server: this.#server, path: '/socket-mode' });
    this.#wss.on('connection', (socket) => this.#onSocket(socket));
  }

  static async start(options: { botToken: string; appToken?: string }): Promise<FakeSlack> {
    const fake = new FakeSlack(options.botToken, options.appToken ?? 'xapp-1-fake');
    fake.#server.listen(0, '127.0.0.1');
    await once(fake.#server, 'listening');
    fake.#origin = `http://127.0.0.1:${(fake.#server.address() as AddressInfo).port}`;
    return fake;
  }

  /** The value for web-api's `slackApiUrl` (SLACK_API_ROOT). */
  get apiRoot(): string {
    return `${this.#origin}/api/`;
  }

  get generalChannel(): string {
    return 'C0GENERAL1';
  }

  get socketConnections(): number {
    return this.#sockets.size;
  }

  get sentMessages(): FakeSlackMessage[] {
    return [...this.#messages.values()].filter((m) => m.fromBot);
  }

  message(channel: string, ts: string): FakeSlackMessage | undefined {
    return this.#messages.get(`${channel}/${ts}`);
  }

  /** The DM channel id between the bot and a user (opened on first use). */
  dmOf(userId: string): string {
    let id = this.#dms.get(userId);
    if (id === undefined) {
      id = `D0${userId.slice(1, 9).toUpperCase().padEnd(8, '0')}`;
      this.#dms.set(userId, id);
      this.#channels.add(id);
    }
    return id;
  }

  // ----------------------------------------------------------------------------------------------
  // What users do

  /** A user writes to the bot in a DM (Events API message.im). */
  async sendDirectMessage(input: { user: string; text: string }): Promise<SignedDelivery & { ts: string; channel: string }> {
    const channel = this.dmOf(input.user);
    const ts = this.#ts();
    this.#messages.set(`${channel}/${ts}`, { channel, ts, user: input.user, text: input.text, blocks: null, history: [], fromBot: false });
    const delivery = await this.deliverEvent({ type: 'message', channel_type: 'im', channel, user: input.user, text: input.text, ts, event_ts: ts });
    return { ...delivery, ts, channel };
  }

  /** A user mentions the bot in a channel (Events API app_mention). */
  async mentionBot(input: { user: string; text: string; channel?: string }): Promise<SignedDelivery & { ts: string; channel: string }> {
    const channel = input.channel ?? this.generalChannel;
    const ts = this.#ts();
    const text = `<@${this.botUserId}> ${input.text}`;
    this.#messages.set(`${channel}/${ts}`, { channel, ts, user: input.user, text, blocks: null, history: [], fromBot: false });
    const delivery = await this.deliverEvent({ type: 'app_mention', channel, user: input.user, text, ts, event_ts: ts });
    return { ...delivery, ts, channel };
  }

  /** Wraps an event in an event_callback and delivers it (HTTP or Socket Mode). */
  async deliverEvent(event: Record<string, unknown>): Promise<SignedDelivery> {
    const body = {
      token: 'deprecated-verification-token', team_id: this.teamId, api_app_id: 'A0SENTINEL', event,
      type: 'event_callback', event_id: `Ev${++this.#counter}`, event_time: Math.floor(Date.now() / 1000),
      authorizations: [{ enterprise_id: null, team_id: this.teamId, user_id: this.botUserId, is_bot: true, is_enterprise_install: false }],
      is_ext_shared_channel: false,
    };
    if (this.#sockets.size > 0) return this.#envelope('events_api', body);
    return this.signedPost(JSON.stringify(body), 'application/json');
  }

  /** A user presses a Block Kit button on a bot message (interactivity: block_actions). */
  async pressButton(input: { user: string; userName?: string; channel: string; ts: string; actionId?: string; value?: string }): Promise<SignedDelivery> {
    const message = this.#messages.get(`${input.channel}/${input.ts}`);
    if (!message || !message.fromBot) throw new Error(`fake slack: no bot message ${input.channel}/${input.ts}`);
    const actions = (message.blocks ?? []).filter((b) => b.type === 'actions');
    const elements: Array<Record<string, unknown>> = actions.flatMap((b) => (b.elements as Array<Record<string, unknown>>).map((e) => ({ ...e, block_id: b.block_id })));
    const element: Record<string, unknown> = elements.find((e) => input.actionId === undefined || e.action_id === input.actionId)
      ?? { action_id: input.actionId, block_id: 'x', text: { type: 'plain_text', text: '?' } };
    const payload = {
      type: 'block_actions',
      user: { id: input.user, username: input.userName ?? input.user.toLowerCase(), name: input.userName ?? input.user.toLowerCase(), team_id: this.teamId },
      api_app_id: 'A0SENTINEL', token: 'deprecated-verification-token',
      container: { type: 'message', message_ts: input.ts, channel_id: input.channel, is_ephemeral: false },
      trigger_id: `trig-${++this.#counter}`,
      team: { id: this.teamId, domain: 'sentinel-test' },
      enterprise: null, is_enterprise_install: false,
      channel: { id: input.channel, name: 'directmessage' },
      message: { type: 'message', ts: input.ts, text: message.text, user: this.botUserId, bot_id: this.botId, blocks: message.blocks ?? [] },
      state: { values: {} },
      response_url: `${this.#origin}/response-url/${this.#counter}`,
      actions: [{
        type: 'button', action_id: element.action_id, block_id: element.block_id, text: element.text,
        value: input.value ?? element.value, style: element.style, action_ts: String(Date.now() / 1000),
      }],
    };
    if (this.#sockets.size > 0) return this.#envelope('interactive', payload);
    return this.signedPost(new URLSearchParams({ payload: JSON.stringify(payload) }).toString(), 'application/x-www-form-urlencoded');
  }

  /** A user runs a slash command, e.g. "/approve dec-1". */
  async slashCommand(input: { user: string; userName?: string; channel: string; command: string; text: string }): Promise<SignedDelivery> {
    const form = {
      token: 'deprecated-verification-token', team_id: this.teamId, team_domain: 'sentinel-test', channel_id: input.channel,
      channel_name: 'general', user_id: input.user, user_name: input.userName ?? input.user.toLowerCase(), command: input.command,
      text: input.text, api_app_id: 'A0SENTINEL', is_enterprise_install: 'false',
      response_url: `${this.#origin}/response-url/${++this.#counter}`, trigger_id: `trig-${this.#counter}`,
    };
    if (this.#sockets.size > 0) return this.#envelope('slash_commands', form);
    return this.signedPost(new URLSearchParams(form).toString(), 'application/x-www-form-urlencoded');
  }

  /** Slack's check when the Request URL is saved. */
  async urlVerification(challenge: string): Promise<SignedDelivery> {
    return this.signedPost(JSON.stringify({ token: 'deprecated-verification-token', challenge, type: 'url_verification' }), 'application/json');
  }

  /** POSTs a body to the Request URL signed as Slack signs; `tamper` forges or replays. */
  async signedPost(
    rawBody: string,
    contentType: string,
    tamper: { timestamp?: number; signature?: string | null; secret?: string; body?: string } = {},
  ): Promise<SignedDelivery> {
    if (this.app === null) throw new Error('fake slack: set fake.app = { requestUrl, signingSecret } first');
    const timestamp = String(tamper.timestamp ?? Math.floor(Date.now() / 1000));
    const mac = createHmac('sha256', tamper.secret ?? this.app.signingSecret).update(`v0:${timestamp}:${rawBody}`).digest('hex');
    const headers: Record<string, string> = { 'content-type': contentType, 'x-slack-request-timestamp': timestamp };
    if (tamper.signature !== null) headers['x-slack-signature'] = tamper.signature ?? `v0=${mac}`;
    const response = await fetch(this.app.requestUrl, { method: 'POST', headers, body: tamper.body ?? rawBody });
    return { status: response.status, body: await response.text(), rawBody };
  }

  async waitForCall(method: string, predicate: (call: FakeSlackCall) => boolean = () => true, timeoutMs = 5000): Promise<FakeSlackCall> {
    const found = this.calls.find((c) => c.method === method && predicate(c));
    if (found) return found;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#events.off('call', listener);
        reject(new Error(`fake slack: no ${method} call within ${timeoutMs} ms; calls: ${this.calls.map((c) => c.method).join(', ')}`));
      }, timeoutMs);
      const listener = (call: FakeSlackCall) => {
        if (call.method !== method || !predicate(call)) return;
        clearTimeout(timer);
        this.#events.off('call', listener);
        resolve(call);
      };
      this.#events.on('call', listener);
    });
  }

  async close(): Promise<void> {
    for (const socket of this.#sockets) socket.terminate();
    this.#wss.close();
    this.#server.closeAllConnections();
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }

  // ----------------------------------------------------------------------------------------------

  #ts(): string {
    this.#clock += 1;
    return `${Math.floor(this.#clock / 1000)}.${String(this.#clock % 1000).padStart(3, '0')}${String(++this.#counter % 1000).padStart(3, '0')}`;
  }

  async #envelope(type: string, payload: unknown): Promise<SignedDelivery> {
    const envelopeId = `env-${++this.#counter}`;
    const frame = JSON.stringify({
      envelope_id: envelopeId, type, payload, accepts_response_payload: type !== 'events_api',
      ...(type === 'events_api' ? { retry_attempt: 0, retry_reason: '' } : {}),
    });
    const acked = new Promise<unknown>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`fake slack: envelope ${envelopeId} not acknowledged`)), 5000);
      this.#events.once(`ack:${envelopeId}`, (ack: unknown) => {
        clearTimeout(timer);
        resolve(ack);
      });
    });
    for (const socket of this.#sockets) {
      socket.send(frame);
      break;
    }
    const ack = await acked;
    return { status: 200, body: JSON.stringify(ack), rawBody: frame };
  }

  #onSocket(socket: WebSocket): void {
    this.#sockets.add(socket);
    socket.send(JSON.stringify({ type: 'hello', num_connections: this.#sockets.size, debug_info: { host: 'fake', approximate_connection_time: 18060 }, connection_info: { app_id: 'A0SENTINEL' } }));
    socket.on('message', (data) => {
      try {
        const ack = JSON.parse(String(data)) as { envelope_id?: string; payload?: unknown };
        if (typeof ack.envelope_id === 'string') {
          this.socketAcks.set(ack.envelope_id, ack.payload ?? null);
          this.#events.emit(`ack:${ack.envelope_id}`, ack.payload ?? null);
        }
      } catch {
        // Slack ignores frames it cannot read.
      }
    });
    socket.on('close', () => this.#sockets.delete(socket));
  }

  async #handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', this.#origin);
    const method = url.pathname.replace(/^\/api\//, '');
    let args: Record<string, unknown> = {};
    let status = 200;
    let body: Record<string, unknown>;
    try {
      if (!url.pathname.startsWith('/api/')) throw new SlackError('unknown_method', 404);
      args = await readBody(req);
      const auth = req.headers.authorization ?? (typeof args.token === 'string' ? `Bearer ${args.token}` : '');
      if (auth === '') throw new SlackError('not_authed');
      const wanted = method === 'apps.connections.open' ? this.appToken : this.botToken;
      if (auth !== `Bearer ${wanted}`) throw new SlackError('invalid_auth');
      body = { ok: true, ...this.#call(method, args) };
    } catch (error) {
      const e = error instanceof SlackError ? error : new SlackError(`fatal_error: ${(error as Error).message}`);
      status = e.status;
      body = { ok: false, error: e.error };
    }
    const call = { method, args, ok: body.ok === true, error: body.ok === true ? null : String(body.error) };
    this.calls.push(call);
    this.#events.emit('call', call);
    res.writeHead(status, { 'content-type': 'application/json', ...(status === 429 ? { 'retry-after': '1' } : {}) });
    res.end(JSON.stringify(body));
  }

  #call(method: string, args: Record<string, unknown>): Record<string, unknown> {
    switch (method) {
      case 'auth.test':
        return { url: 'https://sentinel-test.slack.com/', team: 'Sentinel Test', user: 'sentinel', team_id: this.teamId, user_id: this.botUserId, bot_id: this.botId, is_enterprise_install: false };
      case 'apps.connections.open':
        return { url: `${this.#origin.replace('http', 'ws')}/socket-mode?ticket=t-${++this.#counter}` };
      case 'conversations.open': {
        const users = String(args.users ?? '');
        if (!/^[UW][A-Z0-9]+$/.test(users)) throw new SlackError('user_not_found');
        return { channel: { id: this.dmOf(users) } };
      }
      case 'chat.postMessage':
        return this.#post(args);
      case 'chat.update': {
        this.#maybeFail();
        const channel = String(args.channel ?? '');
        const message = this.#messages.get(`${channel}/${String(args.ts ?? '')}`);
        if (!message) throw new SlackError('message_not_found');
        if (!message.fromBot) throw new SlackError('cant_update_message');
        const blocks = args.blocks === undefined ? message.blocks : validateBlocks(args.blocks);
        message.history.push({ text: message.text, blocks: message.blocks });
        message.text = args.text === undefined ? message.text : String(args.text);
        message.blocks = blocks;
        return { channel, ts: message.ts, text: message.text };
      }
      case 'chat.postEphemeral': {
        const channel = String(args.channel ?? '');
        if (!this.#channels.has(channel)) throw new SlackError('channel_not_found');
        this.ephemerals.push({ channel, user: String(args.user ?? ''), text: String(args.text ?? '') });
        return { message_ts: this.#ts() };
      }
      default:
        throw new SlackError('unknown_method');
    }
  }

  #maybeFail(): void {
    if (this.failSendsWith === 429) throw new SlackError('ratelimited', 429);
    if (this.failSendsWith !== null) throw new SlackError(this.failSendsWith);
  }

  #post(args: Record<string, unknown>): Record<string, unknown> {
    this.#maybeFail();
    let channel = String(args.channel ?? '');
    if (/^[UW][A-Z0-9]+$/.test(channel)) channel = this.dmOf(channel);
    if (!this.#channels.has(channel)) throw new SlackError('channel_not_found');
    const text = args.text === undefined ? '' : String(args.text);
    const blocks = args.blocks === undefined ? null : validateBlocks(args.blocks);
    if (text === '' && blocks === null) throw new SlackError('no_text');
    if (text.length > 40_000) throw new SlackError('msg_too_long');
    const ts = this.#ts();
    const message: FakeSlackMessage = { channel, ts, user: this.botUserId, text, blocks, history: [], fromBot: true };
    this.#messages.set(`${channel}/${ts}`, message);
    return { channel, ts, message: { type: 'message', text, user: this.botUserId, bot_id: this.botId, ts, ...(blocks ? { blocks } : {}) } };
  }
}
