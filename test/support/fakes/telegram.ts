// A local fake of the Telegram Bot API (https://core.telegram.org/bots/api), close enough for
// telegraf: POST <apiRoot>/bot<token>/<method> with a JSON or form body, answers
// { ok, result } or { ok: false, error_code, description } as Telegram does.
//
// It records what the bot sent (messages, inline keyboards, edits, callback answers) and injects
// what users do (messages, button presses), either through getUpdates long polling or, when the
// bot has called setWebhook, by POSTing the update to the webhook URL with the secret token header.
//
// Checks that mirror Telegram's own, so tests fail where Telegram would: the token, chat
// existence (a bot cannot message a user who never wrote to it), HTML parse_mode well-formedness,
// callback_data of 1-64 bytes, text of 1-4096 characters, "message is not modified",
// one answer per callback query, getUpdates refused while a webhook is set.
import { EventEmitter, once } from 'node:events';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface FakeTelegramUser { id: number; first_name: string; last_name?: string; username?: string; is_bot?: boolean }

export interface FakeTelegramMessage {
  message_id: number;
  chatId: number;
  text: string;
  /** The text as sent, before HTML parsing. */
  rawText: string;
  parse_mode: string | null;
  reply_markup: { inline_keyboard: Array<Array<{ text: string; callback_data?: string }>> } | null;
  /** Earlier versions, oldest first, when the bot edited the message. */
  history: Array<{ text: string; reply_markup: FakeTelegramMessage['reply_markup'] }>;
  fromBot: boolean;
}

export interface FakeTelegramCall { method: string; params: Record<string, unknown>; status: number }

interface PendingPoll { offset: number; respond: (updates: unknown[]) => void; timer: NodeJS.Timeout }

const HTML_TAGS = new Set(['b', 'strong', 'i', 'em', 'u', 'ins', 's', 'strike', 'del', 'code', 'pre', 'a', 'tg-spoiler', 'span', 'blockquote', 'tg-emoji']);

class ApiError extends Error {
  readonly status: number;
  constructor(status: number, description: string) {
    super(description);
    this.status = status;
  }
}

/** Parses Telegram HTML as Telegram does (enough to catch bad escaping): returns the visible text. */
export function parseTelegramHtml(html: string): string {
  const stack: string[] = [];
  let out = '';
  const re = /<(\/?)([a-zA-Z-]+)(?:\s[^<>]*)?>|&(lt|gt|amp|quot|#\d+|#x[0-9a-fA-F]+);|([<>&])|([^<>&]+)/g;
  for (let m = re.exec(html); m !== null; m = re.exec(html)) {
    if (m[2] !== undefined) {
      const tag = m[2].toLowerCase();
      if (!HTML_TAGS.has(tag)) throw new ApiError(400, `Bad Request: can't parse entities: Unsupported start tag "${tag}" at byte offset ${m.index}`);
      if (m[1] === '/') {
        if (stack.pop() !== tag) throw new ApiError(400, `Bad Request: can't parse entities: Unmatched end tag at byte offset ${m.index}, expected "</${stack.at(-1) ?? ''}>", found "</${tag}>"`);
      } else {
        stack.push(tag);
      }
    } else if (m[3] !== undefined) {
      const e = m[3];
      out += e === 'lt' ? '<' : e === 'gt' ? '>' : e === 'amp' ? '&' : e === 'quot' ? '"' : String.fromCodePoint(e.startsWith('#x') ? parseInt(e.slice(2), 16) : Number(e.slice(1)));
    } else if (m[4] !== undefined) {
      if (m[4] === '&') throw new ApiError(400, `Bad Request: can't parse entities: Unsupported entity at byte offset ${m.index}`);
      throw new ApiError(400, `Bad Request: can't parse entities: Unexpected ${m[4]} at byte offset ${m.index}`);
    } else {
      out += m[5];
    }
  }
  if (stack.length > 0) throw new ApiError(400, `Bad Request: can't parse entities: Can't find end tag corresponding to start tag "${stack.at(-1)}"`);
  return out;
}

async function readBody(req: IncomingMessage): Promise<Record<string, unknown>> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  const raw = Buffer.concat(chunks).toString('utf8');
  const type = req.headers['content-type'] ?? '';
  if (raw === '') return {};
  if (type.startsWith('application/json')) return JSON.parse(raw) as Record<string, unknown>;
  if (type.startsWith('application/x-www-form-urlencoded')) return Object.fromEntries(new URLSearchParams(raw));
  throw new ApiError(400, `Bad Request: the fake does not accept ${type || 'this body'}`);
}

function jsonField(value: unknown): unknown {
  if (typeof value !== 'string') return value;
  try {
    return JSON.parse(value);
  } catch {
    throw new ApiError(400, 'Bad Request: can\'t parse reply keyboard markup JSON object');
  }
}

export class FakeTelegram {
  readonly token: string;
  readonly bot: { id: number; is_bot: true; first_name: string; username: string };
  readonly calls: FakeTelegramCall[] = [];
  readonly callbackAnswers: Array<{ callback_query_id: string; text: string | null; show_alert: boolean }> = [];
  webhook: { url: string; secret_token: string | null; allowed_updates: unknown } | null = null;
  /** The exact bytes of the last update POSTed to the webhook. */
  lastWebhookBody: string | null = null;
  /** Set to a number to make every sendMessage / edit fail with that HTTP status (e.g. 429, 500). */
  failSendsWith: number | null = null;

  readonly #server: Server;
  readonly #events = new EventEmitter();
  readonly #messages = new Map<string, FakeTelegramMessage>();
  readonly #knownChats = new Set<number>();
  readonly #queue: Array<{ update_id: number } & Record<string, unknown>> = [];
  readonly #pendingPolls = new Set<PendingPoll>();
  readonly #openQueries = new Set<string>();
  readonly #nextMessageId = new Map<number, number>();
  #nextUpdateId = 1000;
  #nextQueryId = 1;
  #url = '';

  private constructor(token: string, username: string) {
    this.token = token;
    this.bot = { id: Number(token.split(':')[0]) || 4242, is_bot: true, first_name: 'Sentinel', username };
    this.#server = createServer((req, res) => void this.#handle(req, res));
  }

  static async start(options: { token: string; botUsername?: string }): Promise<FakeTelegram> {
    const fake = new FakeTelegram(options.token, options.botUsername ?? 'sentinel_test_bot');
    fake.#server.listen(0, '127.0.0.1');
    await once(fake.#server, 'listening');
    fake.#url = `http://127.0.0.1:${(fake.#server.address() as AddressInfo).port}`;
    return fake;
  }

  /** The value for telegraf's `telegram.apiRoot` (TELEGRAM_API_ROOT). */
  get apiRoot(): string {
    return this.#url;
  }

  /** Messages the bot sent, in order. */
  get sentMessages(): FakeTelegramMessage[] {
    return [...this.#messages.values()].filter((m) => m.fromBot);
  }

  message(chatId: number, messageId: number): FakeTelegramMessage | undefined {
    return this.#messages.get(`${chatId}:${messageId}`);
  }

  /** Makes a chat known without a message (as if the user had started the bot earlier). */
  knowChat(chatId: number): void {
    this.#knownChats.add(chatId);
  }

  /** A user writes to the bot. Delivered by webhook when one is set, else queued for getUpdates. */
  async sendUserMessage(input: { chatId?: number; from: FakeTelegramUser; text: string }): Promise<{ update_id: number; message_id: number; webhookStatus: number | null }> {
    const chatId = input.chatId ?? input.from.id;
    this.#knownChats.add(chatId);
    const messageId = this.#allocateMessageId(chatId);
    this.#messages.set(`${chatId}:${messageId}`, {
      message_id: messageId, chatId, text: input.text, rawText: input.text, parse_mode: null, reply_markup: null, history: [], fromBot: false,
    });
    const update = {
      update_id: this.#nextUpdateId++,
      message: {
        message_id: messageId,
        from: { is_bot: false, ...input.from },
        chat: chatId === input.from.id
          ? { id: chatId, type: 'private', first_name: input.from.first_name, ...(input.from.username ? { username: input.from.username } : {}) }
          : { id: chatId, type: 'group', title: 'Test group' },
        date: Math.floor(Date.now() / 1000),
        text: input.text,
        ...(input.text.startsWith('/') ? { entities: [{ type: 'bot_command', offset: 0, length: input.text.split(/\s/)[0]!.length }] } : {}),
      },
    };
    const webhookStatus = await this.#dispatch(update);
    return { update_id: update.update_id, message_id: messageId, webhookStatus };
  }

  /** A user presses an inline-keyboard button of a message the bot sent. */
  async pressButton(input: { chatId: number; messageId: number; from: FakeTelegramUser; data?: string }): Promise<{ update_id: number; callback_query_id: string; webhookStatus: number | null }> {
    const message = this.#messages.get(`${input.chatId}:${input.messageId}`);
    if (!message || !message.fromBot) throw new Error(`fake: no bot message ${input.chatId}:${input.messageId}`);
    const data = input.data ?? message.reply_markup?.inline_keyboard.flat()[0]?.callback_data;
    const id = String(this.#nextQueryId++);
    this.#openQueries.add(id);
    const update = {
      update_id: this.#nextUpdateId++,
      callback_query: {
        id,
        from: { is_bot: false, ...input.from },
        chat_instance: `ci-${input.chatId}`,
        message: { message_id: message.message_id, from: this.bot, chat: { id: input.chatId, type: 'private' }, date: Math.floor(Date.now() / 1000), text: message.text },
        ...(data !== undefined ? { data } : {}),
      },
    };
    const webhookStatus = await this.#dispatch(update);
    return { update_id: update.update_id, callback_query_id: id, webhookStatus };
  }

  /** Resolves with the first call (past or future) of `method` that satisfies `predicate`. */
  async waitForCall(method: string, predicate: (call: FakeTelegramCall) => boolean = () => true, timeoutMs = 5000): Promise<FakeTelegramCall> {
    const found = this.calls.find((c) => c.method === method && predicate(c));
    if (found) return found;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#events.off('call', listener);
        reject(new Error(`fake telegram: no ${method} call within ${timeoutMs} ms; calls: ${this.calls.map((c) => c.method).join(', ')}`));
      }, timeoutMs);
      const listener = (call: FakeTelegramCall) => {
        if (call.method !== method || !predicate(call)) return;
        clearTimeout(timer);
        this.#events.off('call', listener);
        resolve(call);
      };
      this.#events.on('call', listener);
    });
  }

  async close(): Promise<void> {
    for (const poll of this.#pendingPolls) {
      clearTimeout(poll.timer);
      poll.respond([]);
    }
    this.#pendingPolls.clear();
    this.#server.closeAllConnections();
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }

  #allocateMessageId(chatId: number): number {
    const id = this.#nextMessageId.get(chatId) ?? 1;
    this.#nextMessageId.set(chatId, id + 1);
    return id;
  }

  async #dispatch(update: { update_id: number } & Record<string, unknown>): Promise<number | null> {
    if (this.webhook !== null) {
      const body = JSON.stringify(update);
      this.lastWebhookBody = body;
      const response = await fetch(this.webhook.url, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          ...(this.webhook.secret_token !== null ? { 'x-telegram-bot-api-secret-token': this.webhook.secret_token } : {}),
        },
        body,
      });
      await response.arrayBuffer();
      return response.status;
    }
    this.#queue.push(update);
    for (const poll of this.#pendingPolls) {
      const ready = this.#queue.filter((u) => u.update_id >= poll.offset);
      if (ready.length > 0) {
        this.#pendingPolls.delete(poll);
        clearTimeout(poll.timer);
        poll.respond(ready);
      }
    }
    return null;
  }

  async #handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const match = /^\/bot([^/]+)\/([A-Za-z]+)$/.exec((req.url ?? '').split('?')[0] ?? '');
    const reply = (status: number, body: unknown) => {
      if (res.writableEnded) return;
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(JSON.stringify(body));
    };
    if (!match) return reply(404, { ok: false, error_code: 404, description: 'Not Found' });
    const [, token, method] = match as unknown as [string, string, string];
    let params: Record<string, unknown> = {};
    const record = (status: number) => {
      const call = { method, params, status };
      this.calls.push(call);
      this.#events.emit('call', call);
    };
    try {
      params = await readBody(req);
      if (token !== this.token) throw new ApiError(401, 'Unauthorized');
      if (method === 'getUpdates') {
        await this.#getUpdates(params, req, res, record);
        return;
      }
      const result = this.#call(method, params);
      record(200);
      reply(200, { ok: true, result });
    } catch (error) {
      const status = error instanceof ApiError ? error.status : 500;
      record(status);
      reply(status, {
        ok: false, error_code: status, description: (error as Error).message,
        ...(status === 429 ? { parameters: { retry_after: 1 } } : {}),
      });
    }
  }

  async #getUpdates(params: Record<string, unknown>, req: IncomingMessage, res: ServerResponse, record: (status: number) => void): Promise<void> {
    if (this.webhook !== null) throw new ApiError(409, "Conflict: can't use getUpdates method while webhook is active; use deleteWebhook to delete the webhook first");
    const offset = Number(params.offset ?? 0);
    // Updates below the offset are confirmed: Telegram forgets them.
    for (let i = this.#queue.length - 1; i >= 0; i--) if (this.#queue[i]!.update_id < offset) this.#queue.splice(i, 1);
    const limit = Number(params.limit ?? 100);
    const ready = this.#queue.filter((u) => u.update_id >= offset).slice(0, limit);
    const respond = (updates: unknown[]) => {
      record(200);
      if (!res.writableEnded) {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ ok: true, result: updates }));
      }
    };
    const timeoutSeconds = Number(params.timeout ?? 0);
    if (ready.length > 0 || timeoutSeconds <= 0) return respond(ready);
    await new Promise<void>((resolve) => {
      const poll: PendingPoll = {
        offset,
        respond: (updates) => {
          respond(updates);
          resolve();
        },
        timer: setTimeout(() => {
          this.#pendingPolls.delete(poll);
          poll.respond([]);
        }, Math.min(timeoutSeconds, 30) * 1000),
      };
      this.#pendingPolls.add(poll);
      req.socket.once('close', () => {
        if (this.#pendingPolls.delete(poll)) {
          clearTimeout(poll.timer);
          resolve();
        }
      });
    });
  }

  #call(method: string, params: Record<string, unknown>): unknown {
    switch (method) {
      case 'getMe':
        return { ...this.bot, can_join_groups: true, can_read_all_group_messages: false, supports_inline_queries: false };
      case 'setWebhook': {
        const url = String(params.url ?? '');
        if (url === '') {
          this.webhook = null;
          return true;
        }
        if (!/^https?:\/\//.test(url)) throw new ApiError(400, 'Bad Request: bad webhook: An HTTPS URL must be provided for webhook');
        const secret = params.secret_token === undefined ? null : String(params.secret_token);
        if (secret !== null && !/^[A-Za-z0-9_-]{1,256}$/.test(secret)) throw new ApiError(400, 'Bad Request: bad webhook: secret token contains unallowed characters');
        this.webhook = { url, secret_token: secret, allowed_updates: jsonField(params.allowed_updates) ?? null };
        return true;
      }
      case 'deleteWebhook':
        this.webhook = null;
        return true;
      case 'getWebhookInfo':
        return { url: this.webhook?.url ?? '', has_custom_certificate: false, pending_update_count: this.#queue.length };
      case 'sendMessage':
        return this.#sendMessage(params);
      case 'editMessageText':
        return this.#edit(params, true);
      case 'editMessageReplyMarkup':
        return this.#edit(params, false);
      case 'answerCallbackQuery': {
        const id = String(params.callback_query_id ?? '');
        if (!this.#openQueries.delete(id)) throw new ApiError(400, 'Bad Request: query is too old and response timeout expired or query ID is invalid');
        this.callbackAnswers.push({ callback_query_id: id, text: params.text === undefined ? null : String(params.text), show_alert: params.show_alert === true || params.show_alert === 'true' });
        return true;
      }
      default:
        throw new ApiError(404, 'Not Found: method not found');
    }
  }

  #checkKeyboard(raw: unknown): FakeTelegramMessage['reply_markup'] {
    if (raw === undefined) return null;
    const markup = jsonField(raw) as { inline_keyboard?: unknown };
    if (!Array.isArray(markup.inline_keyboard)) throw new ApiError(400, 'Bad Request: object expected as reply markup');
    for (const row of markup.inline_keyboard as unknown[]) {
      if (!Array.isArray(row)) throw new ApiError(400, 'Bad Request: field "inline_keyboard" of the InlineKeyboardMarkup must be an Array of Arrays');
      for (const button of row as Array<{ text?: unknown; callback_data?: unknown }>) {
        if (typeof button.text !== 'string' || button.text === '') throw new ApiError(400, 'Bad Request: text buttons are unallowed in the inline keyboard');
        if (button.callback_data !== undefined) {
          const bytes = Buffer.byteLength(String(button.callback_data), 'utf8');
          if (bytes < 1 || bytes > 64) throw new ApiError(400, 'Bad Request: BUTTON_DATA_INVALID');
        }
      }
    }
    // An empty keyboard is no keyboard.
    if ((markup.inline_keyboard as unknown[][]).every((row) => row.length === 0)) return null;
    return markup as FakeTelegramMessage['reply_markup'];
  }

  #render(params: Record<string, unknown>): { text: string; rawText: string; parse_mode: string | null } {
    const rawText = params.text === undefined ? '' : String(params.text);
    const parse_mode = params.parse_mode === undefined ? null : String(params.parse_mode);
    if (parse_mode !== null && parse_mode !== 'HTML') throw new ApiError(400, `Bad Request: the fake only implements parse_mode HTML, got ${parse_mode}`);
    const text = parse_mode === 'HTML' ? parseTelegramHtml(rawText) : rawText;
    if (text.trim() === '') throw new ApiError(400, 'Bad Request: message text is empty');
    if ([...text].length > 4096) throw new ApiError(400, 'Bad Request: message is too long');
    return { text, rawText, parse_mode };
  }

  #sendMessage(params: Record<string, unknown>): unknown {
    if (this.failSendsWith !== null) throw new ApiError(this.failSendsWith, this.failSendsWith === 429 ? 'Too Many Requests: retry after 1' : 'Internal Server Error');
    const chatId = Number(params.chat_id);
    if (!Number.isSafeInteger(chatId) || !this.#knownChats.has(chatId)) throw new ApiError(400, 'Bad Request: chat not found');
    const rendered = this.#render(params);
    const reply_markup = this.#checkKeyboard(params.reply_markup);
    const messageId = this.#allocateMessageId(chatId);
    const message: FakeTelegramMessage = { message_id: messageId, chatId, ...rendered, reply_markup, history: [], fromBot: true };
    this.#messages.set(`${chatId}:${messageId}`, message);
    return this.#apiMessage(message);
  }

  #edit(params: Record<string, unknown>, withText: boolean): unknown {
    if (this.failSendsWith !== null) throw new ApiError(this.failSendsWith, 'Internal Server Error');
    const message = this.#messages.get(`${Number(params.chat_id)}:${Number(params.message_id)}`);
    if (!message) throw new ApiError(400, 'Bad Request: message to edit not found');
    if (!message.fromBot) throw new ApiError(400, "Bad Request: message can't be edited");
    const rendered = withText ? this.#render(params) : { text: message.text, rawText: message.rawText, parse_mode: message.parse_mode };
    // Omitting reply_markup removes the inline keyboard.
    const reply_markup = this.#checkKeyboard(params.reply_markup);
    const keyboardOf = (m: FakeTelegramMessage['reply_markup']) => JSON.stringify(m?.inline_keyboard.length ? m : null);
    if (rendered.text === message.text && keyboardOf(reply_markup) === keyboardOf(message.reply_markup)) {
      throw new ApiError(400, 'Bad Request: message is not modified: specified new message content and reply markup are exactly the same as a current content and reply markup of the message');
    }
    message.history.push({ text: message.text, reply_markup: message.reply_markup });
    Object.assign(message, rendered, { reply_markup });
    return this.#apiMessage(message);
  }

  #apiMessage(message: FakeTelegramMessage): unknown {
    return {
      message_id: message.message_id,
      from: this.bot,
      chat: { id: message.chatId, type: 'private' },
      date: Math.floor(Date.now() / 1000),
      text: message.text,
      ...(message.reply_markup && message.reply_markup.inline_keyboard.length > 0 ? { reply_markup: message.reply_markup } : {}),
    };
  }
}
