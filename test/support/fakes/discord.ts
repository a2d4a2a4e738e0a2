// A local fake of Discord (https://discord.com/developers/docs), close enough for discord.js 14:
//
// - REST under <origin>/api/v10 with "Authorization: Bot <token>": GET /gateway/bot (which points
//   the library at this fake's gateway), GET /users/@me, POST /users/@me/channels (open a DM),
//   GET /channels/{id}, POST and PATCH /channels/{id}/messages[/{id}], and
//   POST /interactions/{id}/{token}/callback. Errors use Discord's { message, code } bodies.
// - Gateway (WebSocket, JSON encoding, API v10): HELLO, IDENTIFY (token checked, intents
//   recorded), READY + GUILD_CREATE, heartbeats, and injected MESSAGE_CREATE / INTERACTION_CREATE.
// - Outgoing interaction webhooks: like Discord with an Interactions Endpoint URL, it POSTs
//   interactions to the app's URL signed with the application's Ed25519 key
//   (X-Signature-Ed25519 over X-Signature-Timestamp + body) and records the response.
//
// Checks that mirror Discord's: token, known channels and users, message limits (content 2000,
// embeds and fields, 5 buttons per row, custom_id 1-100 characters and unique), editing only the
// bot's own messages, one response per interaction.
import { generateKeyPairSync, sign, type KeyObject } from 'node:crypto';
import { EventEmitter, once } from 'node:events';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { WebSocketServer, type WebSocket } from 'ws';

export interface FakeDiscordUser { id: string; username: string; global_name?: string | null; bot?: boolean }

export interface FakeDiscordMessage {
  id: string;
  channel_id: string;
  author: FakeDiscordUser;
  content: string;
  embeds: Array<Record<string, unknown>>;
  components: Array<{ type: number; components: Array<Record<string, unknown>> }>;
  allowed_mentions: unknown;
  history: Array<{ content: string; embeds: unknown[]; components: unknown[] }>;
}

export interface FakeDiscordCall { method: string; path: string; body: unknown; status: number }

class ApiError extends Error {
  readonly status: number;
  readonly code: number;
  constructor(status: number, code: number, message: string) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

const API_PREFIX = '/api/v10';
const EPOCH = 1420070400000n;

async function readJson(req: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  const raw = Buffer.concat(chunks).toString('utf8');
  if (raw === '') return undefined;
  try {
    return JSON.parse(raw);
  } catch {
    throw new ApiError(400, 50109, 'The request body contains invalid JSON.');
  }
}

function validateMessageBody(body: Record<string, unknown>, partial: boolean): void {
  const content = body.content;
  const embeds = (body.embeds ?? []) as Array<Record<string, unknown>>;
  const components = (body.components ?? []) as Array<{ type?: unknown; components?: Array<Record<string, unknown>> }>;
  if (content !== undefined && (typeof content !== 'string' || [...content].length > 2000)) throw new ApiError(400, 50035, 'Invalid Form Body: content: Must be 2000 or fewer in length.');
  if (!partial && (content === undefined || content === '') && embeds.length === 0) throw new ApiError(400, 50006, 'Cannot send an empty message');
  if (!Array.isArray(embeds) || embeds.length > 10) throw new ApiError(400, 50035, 'Invalid Form Body: embeds: Must be 10 or fewer in length.');
  let total = 0;
  for (const embed of embeds) {
    const title = String(embed.title ?? '');
    const description = String(embed.description ?? '');
    const fields = (embed.fields ?? []) as Array<{ name?: unknown; value?: unknown }>;
    const footer = String((embed.footer as { text?: unknown } | undefined)?.text ?? '');
    if (title.length > 256) throw new ApiError(400, 50035, 'Invalid Form Body: embeds.0.title: Must be 256 or fewer in length.');
    if (description.length > 4096) throw new ApiError(400, 50035, 'Invalid Form Body: embeds.0.description: Must be 4096 or fewer in length.');
    if (fields.length > 25) throw new ApiError(400, 50035, 'Invalid Form Body: embeds.0.fields: Must be 25 or fewer in length.');
    for (const field of fields) {
      const name = String(field.name ?? '');
      const value = String(field.value ?? '');
      if (name.trim() === '' || name.length > 256 || value.trim() === '' || value.length > 1024) throw new ApiError(400, 50035, 'Invalid Form Body: embeds.0.fields: name 1-256, value 1-1024 characters.');
      total += name.length + value.length;
    }
    if (footer.length > 2048) throw new ApiError(400, 50035, 'Invalid Form Body: embeds.0.footer.text: Must be 2048 or fewer in length.');
    total += title.length + description.length + footer.length;
  }
  if (total > 6000) throw new ApiError(400, 50035, 'Invalid Form Body: embeds: Embed size exceeds maximum size of 6000');
  if (!Array.isArray(components) || components.length > 5) throw new ApiError(400, 50035, 'Invalid Form Body: components: Must be 5 or fewer in length.');
  const customIds = new Set<string>();
  for (const row of components) {
    if (row.type !== 1 || !Array.isArray(row.components) || row.components.length === 0 || row.components.length > 5) {
      throw new ApiError(400, 50035, 'Invalid Form Body: components: an action row holds 1-5 components.');
    }
    for (const button of row.components) {
      if (button.type !== 2) throw new ApiError(400, 50035, 'Invalid Form Body: the fake only implements buttons.');
      const style = Number(button.style);
      if (!(style >= 1 && style <= 5)) throw new ApiError(400, 50035, 'Invalid Form Body: button style.');
      if (String(button.label ?? '').length > 80) throw new ApiError(400, 50035, 'Invalid Form Body: button label: Must be 80 or fewer in length.');
      if (style !== 5) {
        const id = String(button.custom_id ?? '');
        if (id.length < 1 || id.length > 100) throw new ApiError(400, 50035, 'Invalid Form Body: custom_id: Must be between 1 and 100 in length.');
        if (customIds.has(id)) throw new ApiError(400, 50035, 'Invalid Form Body: custom_id: Component custom id cannot be duplicated');
        customIds.add(id);
      }
    }
  }
}

export class FakeDiscord {
  readonly token: string;
  readonly applicationId = '900000000000000001';
  readonly guildId = '910000000000000001';
  /** A guild text channel the bot can read and write. */
  readonly guildChannelId = '920000000000000001';
  readonly botUser: FakeDiscordUser & { discriminator: string; avatar: null; bot: true };
  readonly calls: FakeDiscordCall[] = [];
  /** What IDENTIFY asked for. */
  identify: { intents: number; properties: unknown } | null = null;
  /** Responses given to interactions (via the REST callback or the webhook response). */
  readonly interactionResponses: Array<{ interactionId: string; via: 'rest' | 'webhook'; body: unknown; status: number }> = [];

  readonly #server: Server;
  readonly #wss: WebSocketServer;
  readonly #events = new EventEmitter();
  readonly #privateKey: KeyObject;
  readonly #publicKeyHex: string;
  readonly #users = new Map<string, FakeDiscordUser>();
  readonly #channels = new Map<string, { id: string; type: number; guild_id?: string; recipients?: FakeDiscordUser[]; name?: string }>();
  readonly #messages = new Map<string, FakeDiscordMessage>();
  readonly #interactions = new Map<string, { token: string; answered: boolean }>();
  readonly #sockets = new Set<WebSocket>();
  #sequence = 0;
  #snowflake = 0n;
  #origin = '';

  private constructor(token: string) {
    this.token = token;
    this.botUser = { id: '930000000000000001', username: 'sentinel', global_name: null, discriminator: '0', avatar: null, bot: true };
    const { privateKey, publicKey } = generateKeyPairSync('ed25519');
    this.#privateKey = privateKey;
    this.#publicKeyHex = Buffer.from(publicKey.export({ format: 'jwk' }).x!, 'base64url').toString('hex');
    this.#channels.set(this.guildChannelId, { id: this.guildChannelId, type: 0, guild_id: this.guildId, name: 'general' });
    this.#server = createServer((req, res) => void this.#handle(req, res));
    this.#wss = new WebSocketServer({ server: this.#server, path: '/gateway' });
    this.#wss.on('connection', (socket) => this.#onGateway(socket));
  }

  static async start(options: { token: string }): Promise<FakeDiscord> {
    const fake = new FakeDiscord(options.token);
    fake.#server.listen(0, '127.0.0.1');
    await once(fake.#server, 'listening');
    fake.#origin = `http://127.0.0.1:${(fake.#server.address() as AddressInfo).port}`;
    return fake;
  }

  /** The value for discord.js `rest: { api }` (DISCORD_API_ROOT). */
  get apiRoot(): string {
    return `${this.#origin}/api`;
  }

  /** The application public key, as the developer portal shows it (DISCORD_PUBLIC_KEY). */
  get publicKeyHex(): string {
    return this.#publicKeyHex;
  }

  get sentMessages(): FakeDiscordMessage[] {
    return [...this.#messages.values()].filter((m) => m.author.id === this.botUser.id);
  }

  message(id: string): FakeDiscordMessage | undefined {
    return this.#messages.get(id);
  }

  /** A DM channel between the bot and this user, if one was opened. */
  dmChannelOf(userId: string): string | undefined {
    for (const channel of this.#channels.values()) if (channel.type === 1 && channel.recipients?.[0]?.id === userId) return channel.id;
    return undefined;
  }

  registerUser(user: FakeDiscordUser): void {
    this.#users.set(user.id, user);
  }

  /** Number of open gateway connections. */
  get gatewayConnections(): number {
    return this.#sockets.size;
  }

  /** A user posts in a channel (the guild channel by default, or their DM with the bot). */
  sendUserMessage(input: { author: FakeDiscordUser; content: string; dm?: boolean }): FakeDiscordMessage {
    this.registerUser(input.author);
    const channelId = input.dm ? this.#openDm(input.author.id).id : this.guildChannelId;
    const message: FakeDiscordMessage = {
      id: this.#nextId(), channel_id: channelId, author: input.author, content: input.content, embeds: [], components: [],
      allowed_mentions: null, history: [],
    };
    this.#messages.set(message.id, message);
    this.#dispatch('MESSAGE_CREATE', {
      ...this.#apiMessage(message),
      ...(input.dm ? { channel_type: 1 } : { guild_id: this.guildId, channel_type: 0, member: { roles: [], joined_at: new Date(0).toISOString(), deaf: false, mute: false, flags: 0 } }),
      mentions: [...input.content.matchAll(/<@!?(\d+)>/g)].map((m) => (m[1] === this.botUser.id ? this.botUser : { id: m[1], username: 'someone', discriminator: '0' })),
    });
    return message;
  }

  /** The interaction Discord creates when a user presses a button of a bot message. */
  buttonInteraction(input: { user: FakeDiscordUser; messageId: string; customId?: string }): Record<string, unknown> {
    const message = this.#messages.get(input.messageId);
    if (!message) throw new Error(`fake discord: no message ${input.messageId}`);
    const customId = input.customId ?? String(message.components[0]?.components[0]?.custom_id ?? '');
    this.registerUser(input.user);
    const channel = this.#channels.get(message.channel_id)!;
    const id = this.#nextId();
    const token = `itok-${id}`;
    this.#interactions.set(id, { token, answered: false });
    const inGuild = channel.guild_id !== undefined;
    return {
      id, application_id: this.applicationId, type: 3, token, version: 1,
      data: { custom_id: customId, component_type: 2 },
      channel_id: channel.id,
      channel: { id: channel.id, type: channel.type, ...(inGuild ? { guild_id: channel.guild_id, name: channel.name } : {}) },
      ...(inGuild
        ? { guild_id: channel.guild_id, member: { user: { ...input.user, discriminator: '0', avatar: null }, roles: [], joined_at: new Date(0).toISOString(), permissions: '0', deaf: false, mute: false, flags: 0 } }
        : { user: { ...input.user, discriminator: '0', avatar: null } }),
      message: this.#apiMessage(message),
      app_permissions: '0', locale: 'en-US', entitlements: [], authorizing_integration_owners: {}, context: inGuild ? 0 : 1,
    };
  }

  /** Sends an interaction to the bot over the gateway (no Interactions Endpoint URL configured). */
  dispatchInteraction(interaction: Record<string, unknown>): void {
    this.#dispatch('INTERACTION_CREATE', interaction);
  }

  /**
   * POSTs an interaction to the app's Interactions Endpoint URL, signed as Discord signs it.
   * `tamper` lets tests forge: change the body after signing, the timestamp, or drop headers.
   */
  async postInteraction(
    url: string,
    interaction: Record<string, unknown>,
    tamper: { body?: string; timestamp?: string; signature?: string | null; signedAt?: number } = {},
  ): Promise<{ status: number; body: unknown; rawBody: string }> {
    const result = await this.postSigned(url, JSON.stringify(interaction), tamper);
    const id = String(interaction.id ?? '');
    if (result.status === 200 && this.#interactions.has(id)) {
      this.#interactions.get(id)!.answered = true;
      this.interactionResponses.push({ interactionId: id, via: 'webhook', body: result.body, status: result.status });
    }
    return result;
  }

  /** POSTs any body signed with the application key (Discord signs timestamp + raw body). */
  async postSigned(
    url: string,
    rawBody: string,
    tamper: { body?: string; timestamp?: string; signature?: string | null; signedAt?: number } = {},
  ): Promise<{ status: number; body: unknown; rawBody: string }> {
    const timestamp = tamper.timestamp ?? String(Math.floor((tamper.signedAt ?? Date.now()) / 1000));
    const signature = sign(null, Buffer.from(timestamp + rawBody), this.#privateKey).toString('hex');
    const headers: Record<string, string> = { 'content-type': 'application/json', 'x-signature-timestamp': timestamp };
    if (tamper.signature !== null) headers['x-signature-ed25519'] = tamper.signature ?? signature;
    const response = await fetch(url, { method: 'POST', headers, body: tamper.body ?? rawBody });
    const text = await response.text();
    let body: unknown = text;
    try {
      body = JSON.parse(text);
    } catch {
      // not JSON
    }
    return { status: response.status, body, rawBody };
  }

  /** Signs a PING and POSTs it, as Discord does when the endpoint URL is saved in the portal. */
  async ping(url: string): Promise<{ status: number; body: unknown }> {
    return this.postInteraction(url, { id: this.#nextId(), application_id: this.applicationId, type: 1, token: 'ping', version: 1 });
  }

  async waitForCall(predicate: (call: FakeDiscordCall) => boolean, timeoutMs = 5000): Promise<FakeDiscordCall> {
    const found = this.calls.find(predicate);
    if (found) return found;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#events.off('call', listener);
        reject(new Error(`fake discord: no matching call within ${timeoutMs} ms; calls: ${this.calls.map((c) => `${c.method} ${c.path}`).join(', ')}`));
      }, timeoutMs);
      const listener = (call: FakeDiscordCall) => {
        if (!predicate(call)) return;
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

  #nextId(): string {
    this.#snowflake += 1n;
    return (((BigInt(Date.now()) - EPOCH) << 22n) + this.#snowflake).toString();
  }

  #openDm(userId: string): { id: string; type: number; recipients: FakeDiscordUser[] } {
    const existing = this.dmChannelOf(userId);
    if (existing) return this.#channels.get(existing) as { id: string; type: number; recipients: FakeDiscordUser[] };
    const user = this.#users.get(userId);
    if (!user) throw new ApiError(400, 50035, 'Invalid Form Body: recipient_id: Value "' + userId + '" is not snowflake or unknown user.');
    const channel = { id: this.#nextId(), type: 1, recipients: [user] };
    this.#channels.set(channel.id, channel);
    return channel;
  }

  #apiMessage(message: FakeDiscordMessage): Record<string, unknown> {
    return {
      id: message.id, channel_id: message.channel_id, type: 0, content: message.content,
      author: { discriminator: '0', avatar: null, global_name: null, ...message.author },
      timestamp: new Date().toISOString(), edited_timestamp: message.history.length > 0 ? new Date().toISOString() : null,
      tts: false, mention_everyone: false, mentions: [], mention_roles: [], attachments: [], embeds: message.embeds,
      components: message.components, pinned: false, flags: 0,
    };
  }

  #dispatch(t: string, d: unknown): void {
    const payload = JSON.stringify({ op: 0, t, s: ++this.#sequence, d });
    for (const socket of this.#sockets) socket.send(payload);
  }

  #onGateway(socket: WebSocket): void {
    socket.send(JSON.stringify({ op: 10, d: { heartbeat_interval: 41250 } }));
    let identified = false;
    socket.on('message', (data) => {
      let payload: { op?: number; d?: Record<string, unknown> };
      try {
        payload = JSON.parse(String(data)) as typeof payload;
      } catch {
        socket.close(4002, 'Error while decoding payload.');
        return;
      }
      switch (payload.op) {
        case 1:
          socket.send(JSON.stringify({ op: 11 }));
          return;
        case 2: {
          if (identified) {
            socket.close(4005, 'Already authenticated.');
            return;
          }
          if (payload.d?.token !== this.token) {
            socket.close(4004, 'Authentication failed.');
            return;
          }
          identified = true;
          this.identify = { intents: Number(payload.d.intents), properties: payload.d.properties };
          this.#sockets.add(socket);
          const url = `${this.#origin.replace('http', 'ws')}/gateway`;
          socket.send(JSON.stringify({
            op: 0, t: 'READY', s: ++this.#sequence,
            d: {
              v: 10, user: this.botUser, guilds: [{ id: this.guildId, unavailable: true }], session_id: `sess-${this.#sequence}`,
              resume_gateway_url: url, shard: [0, 1], application: { id: this.applicationId, flags: 0 }, user_settings: {}, private_channels: [], relationships: [],
            },
          }));
          socket.send(JSON.stringify({
            op: 0, t: 'GUILD_CREATE', s: ++this.#sequence,
            d: {
              id: this.guildId, name: 'Sentinel Test', icon: null, owner_id: '999', afk_timeout: 300, verification_level: 0,
              default_message_notifications: 0, explicit_content_filter: 0, features: [], mfa_level: 0, system_channel_flags: 0,
              premium_tier: 0, nsfw_level: 0, preferred_locale: 'en-US', large: false, unavailable: false, member_count: 2,
              joined_at: new Date(0).toISOString(),
              roles: [{ id: this.guildId, name: '@everyone', permissions: '68608', position: 0, color: 0, hoist: false, managed: false, mentionable: false, flags: 0 }],
              channels: [{ id: this.guildChannelId, type: 0, name: 'general', position: 0, permission_overwrites: [], guild_id: this.guildId }],
              members: [], emojis: [], stickers: [], threads: [], presences: [], voice_states: [], stage_instances: [], guild_scheduled_events: [], soundboard_sounds: [],
            },
          }));
          return;
        }
        case 6:
          socket.send(JSON.stringify({ op: 9, d: false }));
          return;
        default:
          if (!identified) socket.close(4003, 'Not authenticated.');
      }
    });
    socket.on('close', () => this.#sockets.delete(socket));
  }

  async #handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', this.#origin);
    const method = req.method ?? 'GET';
    let path = url.pathname;
    let body: unknown;
    let status: number;
    let result: unknown;
    try {
      if (!path.startsWith(API_PREFIX)) throw new ApiError(404, 0, '404: Not Found');
      path = path.slice(API_PREFIX.length);
      body = await readJson(req);
      const isCallback = /^\/interactions\/\d+\/[^/]+\/callback$/.test(path);
      if (!isCallback && req.headers.authorization !== `Bot ${this.token}`) throw new ApiError(401, 0, '401: Unauthorized');
      ({ status, result } = this.#route(method, path, body, url));
    } catch (error) {
      const e = error instanceof ApiError ? error : new ApiError(500, 0, (error as Error).message);
      status = e.status;
      result = { message: e.message, code: e.code };
    }
    const call = { method, path, body, status };
    this.calls.push(call);
    this.#events.emit('call', call);
    if (status === 204) {
      res.writeHead(204).end();
      return;
    }
    res.writeHead(status, { 'content-type': 'application/json' });
    res.end(JSON.stringify(result));
  }

  #route(method: string, path: string, body: unknown, url: URL): { status: number; result: unknown } {
    const b = (body ?? {}) as Record<string, unknown>;
    let m: RegExpExecArray | null;
    if (method === 'GET' && path === '/gateway/bot') {
      return {
        status: 200,
        result: {
          url: `${this.#origin.replace('http', 'ws')}/gateway`, shards: 1,
          session_start_limit: { total: 1000, remaining: 999, reset_after: 14_400_000, max_concurrency: 1 },
        },
      };
    }
    if (method === 'GET' && path === '/users/@me') return { status: 200, result: this.botUser };
    if (method === 'POST' && path === '/users/@me/channels') return { status: 200, result: this.#openDm(String(b.recipient_id ?? '')) };
    if (method === 'GET' && (m = /^\/channels\/(\d+)$/.exec(path))) {
      const channel = this.#channels.get(m[1]!);
      if (!channel) throw new ApiError(404, 10003, 'Unknown Channel');
      return { status: 200, result: channel };
    }
    if (method === 'POST' && (m = /^\/channels\/(\d+)\/messages$/.exec(path))) {
      if (!this.#channels.has(m[1]!)) throw new ApiError(404, 10003, 'Unknown Channel');
      validateMessageBody(b, false);
      const message: FakeDiscordMessage = {
        id: this.#nextId(), channel_id: m[1]!, author: this.botUser, content: String(b.content ?? ''),
        embeds: (b.embeds ?? []) as FakeDiscordMessage['embeds'], components: (b.components ?? []) as FakeDiscordMessage['components'],
        allowed_mentions: b.allowed_mentions ?? null, history: [],
      };
      this.#messages.set(message.id, message);
      return { status: 200, result: this.#apiMessage(message) };
    }
    if (method === 'PATCH' && (m = /^\/channels\/(\d+)\/messages\/(\d+)$/.exec(path))) {
      const message = this.#messages.get(m[2]!);
      if (!message || message.channel_id !== m[1]) throw new ApiError(404, 10008, 'Unknown Message');
      if (message.author.id !== this.botUser.id) throw new ApiError(403, 50005, 'Cannot edit a message authored by another user');
      validateMessageBody(b, true);
      message.history.push({ content: message.content, embeds: message.embeds, components: message.components });
      if (b.content !== undefined) message.content = String(b.content);
      if (b.embeds !== undefined) message.embeds = b.embeds as FakeDiscordMessage['embeds'];
      if (b.components !== undefined) message.components = b.components as FakeDiscordMessage['components'];
      return { status: 200, result: this.#apiMessage(message) };
    }
    if (method === 'POST' && (m = /^\/interactions\/(\d+)\/([^/]+)\/callback$/.exec(path))) {
      const interaction = this.#interactions.get(m[1]!);
      if (!interaction || interaction.token !== m[2]) throw new ApiError(404, 10062, 'Unknown interaction');
      if (interaction.answered) throw new ApiError(400, 40060, 'Interaction has already been acknowledged.');
      interaction.answered = true;
      this.interactionResponses.push({ interactionId: m[1]!, via: 'rest', body, status: 204 });
      if (url.searchParams.get('with_response') === 'true') return { status: 200, result: { interaction: { id: m[1], type: 3 } } };
      return { status: 204, result: null };
    }
    throw new ApiError(404, 0, '404: Not Found');
  }
}
