// Telegram adapter on telegraf. Updates arrive by long polling (getUpdates) or, in production, by
// webhook: Telegram POSTs each update to our URL with the secret token given to setWebhook in
// X-Telegram-Bot-Api-Secret-Token, which is checked (constant-time) before anything is parsed.
//
// Messages become InboundMessages; "/approve ID" / "/deny ID" and inline-keyboard presses
// (callback_data "apv:<id>:<verdict>") become ApprovalAnswers. Prompts are HTML messages with an
// inline keyboard; updating one edits the message (editMessageText), which also drops the keyboard.
import { Telegraf, type Context } from 'telegraf';
import type { Update } from 'telegraf/types';
import { canonicalBytes } from '../../canonical/jcs.ts';
import type { ApprovalPrompt } from '../../domain/types.ts';
import type { Logger } from '../../observability/log.ts';
import { AUTHENTICATED_BY, callbackDigest, headerValue, TELEGRAM_SECRET_TOKEN, verifyTelegramSecretToken } from '../auth/verify.ts';
import { approvalUsage, parseApprovalCallback, parseApprovalCommand } from '../render/callback.ts';
import { renderTelegramPrompt } from '../render/prompt.ts';
import type {
  AdapterHandlers, ApprovalAnswer, ChannelAdapter, DeliveryTarget, MessageRef, PromptRef, WebhookRequest, WebhookResponse, WebhookRoute,
} from '../types.ts';
import { DEFAULT_WEBHOOK_BODY_LIMIT, deliveryFailed, failureText, isRefusal, jsonResponse, parseJsonObject, refusal, silentLogger } from './common.ts';

export interface TelegramAdapterOptions {
  token: string;
  /** TELEGRAM_API_ROOT; tests point it at a local fake. */
  apiRoot?: string;
  /** Webhook mode (production). Without it the adapter long-polls getUpdates. */
  webhook?: {
    /** Public HTTPS URL Telegram should POST updates to (ends with `path`). */
    url: string;
    /** TELEGRAM_WEBHOOK_SECRET: 1-256 of A-Z a-z 0-9 _ - */
    secretToken: string;
    /** Path of the route to mount; default /telegram/webhook. */
    path?: string;
  } | null;
  log?: Logger;
  clock?: () => number;
  maxBodyBytes?: number;
}

/** Telegram's limit on one message's text. */
const TEXT_LIMIT = 4096;
const ALLOWED_UPDATES = ['message', 'callback_query'] as const;

interface UpdateMeta { digest: string; authenticatedBy: string }

type TelegramUser = { id: number; is_bot: boolean; first_name: string; last_name?: string; username?: string };
type TelegramChat = { id: number };
type TelegramMessage = { message_id: number; chat: TelegramChat; from?: TelegramUser; text?: string };
type TelegramCallbackQuery = { id: string; from: TelegramUser; data?: string; message?: { message_id: number; chat: TelegramChat } };

function displayNameOf(user: TelegramUser): string | null {
  const full = [user.first_name, user.last_name].filter((s) => s !== undefined && s !== '').join(' ');
  return full !== '' ? full : (user.username ?? null);
}

/** Splits text into pieces Telegram accepts, preferring line breaks. */
export function splitTelegramText(text: string, limit = TEXT_LIMIT): string[] {
  const pieces: string[] = [];
  let rest = text;
  while (rest.length > limit) {
    let cut = rest.lastIndexOf('\n', limit);
    if (cut < limit / 2) cut = limit;
    pieces.push(rest.slice(0, cut));
    rest = rest.slice(cut).replace(/^\n/, '');
  }
  if (rest !== '' || pieces.length === 0) pieces.push(rest === '' ? ' ' : rest);
  return pieces;
}

function isNotModified(error: unknown): boolean {
  return error instanceof Error && /message is not modified/i.test(error.message);
}

export function createTelegramAdapter(options: TelegramAdapterOptions): ChannelAdapter {
  if (options.token === '') throw new TypeError('TELEGRAM_BOT_TOKEN is empty');
  const webhook = options.webhook ?? null;
  if (webhook !== null && !TELEGRAM_SECRET_TOKEN.test(webhook.secretToken)) {
    throw new TypeError('TELEGRAM_WEBHOOK_SECRET must be 1-256 characters of A-Z, a-z, 0-9, _ and - in webhook mode');
  }
  const log = options.log ?? silentLogger();
  const clock = options.clock ?? Date.now;
  const maxBodyBytes = options.maxBodyBytes ?? DEFAULT_WEBHOOK_BODY_LIMIT;
  const bot = new Telegraf(options.token, {
    telegram: { ...(options.apiRoot ? { apiRoot: options.apiRoot } : {}), webhookReply: false },
  });
  const meta = new WeakMap<object, UpdateMeta>();
  let handlers: AdapterHandlers | null = null;
  let launched: Promise<void> | null = null;
  let running = false;

  function metaOf(update: Update): UpdateMeta {
    // Polling has no raw bytes: the digest is over the RFC 8785 canonical JSON of the update as received.
    return meta.get(update) ?? { digest: callbackDigest(canonicalBytes(update)), authenticatedBy: AUTHENTICATED_BY.telegramPolling };
  }

  function logFailure(error: unknown, message: string, context: Record<string, unknown>): void {
    if (isRefusal(error)) log.info({ ...context, code: error.code }, `${message}: ${error.message}`);
    else log.error({ ...context, err: error }, message);
  }

  async function reply(chatId: number, text: string): Promise<void> {
    try {
      await bot.telegram.sendMessage(chatId, text, { link_preview_options: { is_disabled: true } });
    } catch (error) {
      log.warn({ err: error, chatId }, 'telegram: could not reply');
    }
  }

  async function onMessage(ctx: Context, message: TelegramMessage): Promise<void> {
    const from = message.from;
    if (!from || from.is_bot || typeof message.text !== 'string' || !handlers) return;
    // In groups, "/command@OtherBot" is for another bot.
    const addressee = /^\/[A-Za-z0-9_]+@([A-Za-z0-9_]+)/.exec(message.text)?.[1];
    if (addressee !== undefined && addressee.toLowerCase() !== (bot.botInfo?.username ?? '').toLowerCase()) return;
    const { digest, authenticatedBy } = metaOf(ctx.update);
    const receivedAt = clock();
    const command = parseApprovalCommand(message.text, { botUsername: bot.botInfo?.username ?? null });
    if (command?.kind === 'usage') {
      await reply(message.chat.id, approvalUsage(command.verdict));
      return;
    }
    if (command?.kind === 'answer') {
      const answer: ApprovalAnswer = {
        decisionId: command.decisionId, verdict: command.verdict, platform: 'telegram',
        platformUserId: String(from.id), displayName: displayNameOf(from), conversationId: String(message.chat.id),
        platformMessageId: String(message.message_id), authenticatedBy, callbackDigest: digest, receivedAt,
      };
      try {
        await handlers.onApprovalAnswer(answer);
        await reply(message.chat.id, `Your ${command.verdict === 'approve' ? 'approval' : 'denial'} of ${command.decisionId} was received.`);
      } catch (error) {
        logFailure(error, 'telegram: approval answer not recorded', { decisionId: command.decisionId });
        await reply(message.chat.id, failureText(error, 'Sorry, I could not record your answer. Please try again.'));
      }
      return;
    }
    try {
      await handlers.onMessage({
        channel: 'telegram', conversationId: String(message.chat.id), channelUserId: String(from.id),
        displayName: displayNameOf(from), text: message.text, platformMessageId: String(message.message_id),
        authenticatedBy, receivedAt,
      });
    } catch (error) {
      logFailure(error, 'telegram: message not accepted', {});
      await reply(message.chat.id, failureText(error, 'Sorry, I could not take your request right now. Please try again in a moment.'));
    }
  }

  async function onCallbackQuery(ctx: Context, query: TelegramCallbackQuery): Promise<void> {
    if (!handlers) return;
    const parsed = parseApprovalCallback(query.data);
    const answerQuery = async (text: string, showAlert = false) => {
      try {
        await bot.telegram.answerCbQuery(query.id, text, { show_alert: showAlert });
      } catch (error) {
        log.warn({ err: error }, 'telegram: answerCallbackQuery failed');
      }
    };
    if (parsed === null || query.from.is_bot) {
      await answerQuery('This button is not one of mine.');
      return;
    }
    const { digest, authenticatedBy } = metaOf(ctx.update);
    const answer: ApprovalAnswer = {
      decisionId: parsed.decisionId, verdict: parsed.verdict, platform: 'telegram',
      platformUserId: String(query.from.id), displayName: displayNameOf(query.from),
      conversationId: query.message ? String(query.message.chat.id) : null,
      platformMessageId: query.message ? String(query.message.message_id) : null,
      authenticatedBy, callbackDigest: digest, receivedAt: clock(),
    };
    try {
      await handlers.onApprovalAnswer(answer);
      await answerQuery(parsed.verdict === 'approve' ? 'Approval received; the card updates once it is confirmed.' : 'Denial received.');
    } catch (error) {
      logFailure(error, 'telegram: approval answer not recorded', { decisionId: parsed.decisionId });
      await answerQuery(failureText(error, 'Sorry, your answer was not recorded. Please try again.'), true);
    }
  }

  bot.use(async (ctx) => {
    const update = ctx.update as unknown as { message?: TelegramMessage; callback_query?: TelegramCallbackQuery };
    if (update.message) await onMessage(ctx, update.message);
    else if (update.callback_query) await onCallbackQuery(ctx, update.callback_query);
  });
  bot.catch((error) => {
    log.error({ err: error }, 'telegram: update handler failed');
  });

  const webhooks: WebhookRoute[] = webhook === null ? [] : [{
    method: 'POST',
    path: webhook.path ?? '/telegram/webhook',
    maxBodyBytes,
    async handle(request: WebhookRequest): Promise<WebhookResponse> {
      const verification = verifyTelegramSecretToken(headerValue(request.headers, 'x-telegram-bot-api-secret-token'), webhook.secretToken);
      if (!verification.ok) return refusal(verification.code, verification.reason);
      if (request.rawBody.length > maxBodyBytes) return refusal('SNT_PAYLOAD_TOO_LARGE', `the body is larger than ${maxBodyBytes} bytes`);
      const parsed = parseJsonObject(request.rawBody);
      if (!parsed.ok) return parsed.response;
      if (!Number.isSafeInteger(parsed.value.update_id)) return refusal('SNT_VALIDATION_FAILED', 'an update needs an integer update_id', { paths: ['/update_id'] });
      if (!running) return refusal('SNT_DEPENDENCY_UNAVAILABLE', 'the Telegram adapter is not running');
      const update = parsed.value as unknown as Update;
      meta.set(update, { digest: callbackDigest(request.rawBody), authenticatedBy: verification.authenticatedBy });
      await bot.handleUpdate(update);
      return jsonResponse(200, undefined);
    },
  }];

  async function deliver(chatId: string, text: string, extra: Record<string, unknown>): Promise<number> {
    const sent = await bot.telegram.sendMessage(chatId, text, extra);
    return sent.message_id;
  }

  function chatOf(target: DeliveryTarget): string {
    // A private chat's id is the user's id (the user must have started the bot once).
    return target.kind === 'conversation' ? target.conversationId : target.channelUserId;
  }

  return {
    name: 'telegram',
    webhooks,
    async start(h: AdapterHandlers): Promise<void> {
      if (running) throw new Error('telegram adapter already started');
      handlers = h;
      if (webhook !== null) {
        bot.botInfo = await bot.telegram.getMe();
        await bot.telegram.setWebhook(webhook.url, { secret_token: webhook.secretToken, allowed_updates: [...ALLOWED_UPDATES] });
        running = true;
        log.info({ bot: bot.botInfo.username, mode: 'webhook' }, 'telegram adapter started');
        return;
      }
      // Checked here, so bad credentials reject start(); launch() then runs the polling loop until stop().
      bot.botInfo = await bot.telegram.getMe();
      await bot.telegram.deleteWebhook({ drop_pending_updates: false });
      launched = bot.launch({ allowedUpdates: [...ALLOWED_UPDATES] }).catch((error: unknown) => {
        running = false;
        log.error({ err: error }, 'telegram: polling stopped with an error');
      });
      running = true;
      log.info({ bot: bot.botInfo?.username, mode: 'polling' }, 'telegram adapter started');
    },
    async sendText(target, text): Promise<MessageRef> {
      const chatId = chatOf(target);
      try {
        let first: number | null = null;
        for (const piece of splitTelegramText(text)) {
          const id = await deliver(chatId, piece, { link_preview_options: { is_disabled: true } });
          first ??= id;
        }
        return { channel: 'telegram', conversationId: chatId, messageId: String(first) };
      } catch (error) {
        throw deliveryFailed('telegram', 'sendMessage', error);
      }
    },
    async sendPrompt(target, prompt: ApprovalPrompt): Promise<PromptRef> {
      const chatId = chatOf(target);
      const { text, ...extra } = renderTelegramPrompt(prompt);
      try {
        const id = await deliver(chatId, text, extra);
        return { channel: 'telegram', conversationId: chatId, messageId: String(id), decisionId: prompt.decisionId };
      } catch (error) {
        throw deliveryFailed('telegram', 'sendMessage', error);
      }
    },
    async updatePrompt(ref, prompt): Promise<void> {
      const { text, ...extra } = renderTelegramPrompt(prompt);
      try {
        await bot.telegram.editMessageText(ref.conversationId, Number(ref.messageId), undefined, text, extra);
      } catch (error) {
        if (isNotModified(error)) return; // already shows this status: updates are idempotent
        throw deliveryFailed('telegram', 'editMessageText', error);
      }
    },
    async stop(): Promise<void> {
      if (!running && launched === null) return;
      running = false;
      if (launched !== null) {
        try {
          bot.stop('adapter stopped');
        } catch {
          // not running
        }
        await launched.catch(() => undefined);
        launched = null;
      }
      handlers = null;
    },
  };
}
