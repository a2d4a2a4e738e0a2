// Discord adapter on discord.js. Messages arrive over the gateway (MESSAGE_CREATE; needs the
// privileged MESSAGE_CONTENT intent): every direct message, and guild messages that mention the
// bot or are approval commands. Button presses arrive either
//   - at our Interactions Endpoint URL (HTTP POST), authenticated by the Ed25519 signature over
//     X-Signature-Timestamp + raw body with the application public key, answered in the HTTP
//     response; or
//   - over the gateway (INTERACTION_CREATE) when no endpoint URL is configured, answered through
//     the interaction callback.
// Prompts are messages with an embed and button components; updates PATCH the message.
import { Client, Events, GatewayIntentBits, MessageFlags, Partials, Routes, type Interaction, type Message } from 'discord.js';
import type { KeyObject } from 'node:crypto';
import { canonicalBytes } from '../../canonical/jcs.ts';
import type { ApprovalPrompt } from '../../domain/types.ts';
import type { Logger } from '../../observability/log.ts';
import { AUTHENTICATED_BY, callbackDigest, discordPublicKey, headerValue, verifyDiscordSignature } from '../auth/verify.ts';
import { approvalUsage, parseApprovalCallback, parseApprovalCommand, type ParsedApproval } from '../render/callback.ts';
import { renderDiscordPrompt } from '../render/prompt.ts';
import type {
  AdapterHandlers, ApprovalAnswer, ChannelAdapter, DeliveryTarget, MessageRef, PromptRef, WebhookRequest, WebhookResponse, WebhookRoute,
} from '../types.ts';
import { DEFAULT_WEBHOOK_BODY_LIMIT, deliveryFailed, failureText, isRefusal, jsonResponse, parseJsonObject, refusal, silentLogger } from './common.ts';

export interface DiscordAdapterOptions {
  token: string;
  /** DISCORD_PUBLIC_KEY (hex): verifies requests to the Interactions Endpoint URL. */
  publicKey: string;
  /** DISCORD_API_ROOT, e.g. https://discord.com/api; tests point it at a local fake. */
  apiRoot?: string;
  /** Path of the interactions route to mount; default /discord/interactions. */
  interactionsPath?: string;
  log?: Logger;
  clock?: () => number;
  maxBodyBytes?: number;
  /** How long start() waits for the gateway to be ready. Default 30 s. */
  readyTimeoutMs?: number;
}

const CONTENT_LIMIT = 2000;
const INTERACTION_PING = 1;
const INTERACTION_COMMAND = 2;
const INTERACTION_COMPONENT = 3;
const RESPONSE_PONG = 1;
const RESPONSE_MESSAGE = 4;

export function splitDiscordText(text: string, limit = CONTENT_LIMIT): string[] {
  const pieces: string[] = [];
  let rest = text;
  while ([...rest].length > limit) {
    const chars = [...rest];
    let cut = chars.slice(0, limit).join('').lastIndexOf('\n');
    if (cut < limit / 2) cut = chars.slice(0, limit).join('').length;
    pieces.push(rest.slice(0, cut));
    rest = rest.slice(cut).replace(/^\n/, '');
  }
  pieces.push(rest === '' ? '\u200b' : rest);
  return pieces;
}

/** The user behind an interaction payload: member.user in a guild, user in a DM. */
function interactionUser(raw: Record<string, unknown>): { id: string; name: string | null } | null {
  const user = ((raw.member as { user?: unknown } | undefined)?.user ?? raw.user) as { id?: unknown; username?: unknown; global_name?: unknown } | undefined;
  if (!user || typeof user.id !== 'string') return null;
  const name = typeof user.global_name === 'string' ? user.global_name : typeof user.username === 'string' ? user.username : null;
  return { id: user.id, name };
}

/** An approval from a raw interaction: a button (custom_id) or an /approve or /deny slash command. */
function approvalOfInteraction(raw: Record<string, unknown>): ParsedApproval | null {
  const data = (raw.data ?? {}) as { custom_id?: unknown; name?: unknown; options?: Array<{ name?: unknown; value?: unknown }> };
  if (raw.type === INTERACTION_COMPONENT) return parseApprovalCallback(data.custom_id);
  if (raw.type === INTERACTION_COMMAND && (data.name === 'approve' || data.name === 'deny')) {
    const id = data.options?.find((o) => o.name === 'decision')?.value;
    const command = parseApprovalCommand(`/${data.name} ${typeof id === 'string' ? id : ''}`);
    return command?.kind === 'answer' ? { decisionId: command.decisionId, verdict: command.verdict } : null;
  }
  return null;
}

function ephemeral(content: string): { type: number; data: { content: string; flags: number; allowed_mentions: { parse: [] } } } {
  return { type: RESPONSE_MESSAGE, data: { content, flags: MessageFlags.Ephemeral, allowed_mentions: { parse: [] } } };
}

function receipt(approval: ParsedApproval): string {
  return approval.verdict === 'approve'
    ? `Your approval of ${approval.decisionId} was received; the card updates once it is confirmed.`
    : `Your denial of ${approval.decisionId} was received.`;
}

export function createDiscordAdapter(options: DiscordAdapterOptions): ChannelAdapter {
  if (options.token === '') throw new TypeError('DISCORD_BOT_TOKEN is empty');
  let publicKey: KeyObject;
  try {
    publicKey = discordPublicKey(options.publicKey);
  } catch {
    throw new TypeError('DISCORD_PUBLIC_KEY must be the 64-hex-character application public key');
  }
  const log = options.log ?? silentLogger();
  const clock = options.clock ?? Date.now;
  const maxBodyBytes = options.maxBodyBytes ?? DEFAULT_WEBHOOK_BODY_LIMIT;
  const client = new Client({
    intents: [GatewayIntentBits.Guilds, GatewayIntentBits.GuildMessages, GatewayIntentBits.DirectMessages, GatewayIntentBits.MessageContent],
    // DM channels are not cached before their first message arrives.
    partials: [Partials.Channel],
    ...(options.apiRoot ? { rest: { api: options.apiRoot } } : {}),
    allowedMentions: { parse: [] },
  });
  const gatewayDigests = new Map<string, string>();
  const dmChannels = new Map<string, string>();
  let handlers: AdapterHandlers | null = null;
  let running = false;

  function logFailure(error: unknown, message: string, context: Record<string, unknown>): void {
    if (isRefusal(error)) log.info({ ...context, code: error.code }, `${message}: ${error.message}`);
    else log.error({ ...context, err: error }, message);
  }

  async function recordAnswer(
    approval: ParsedApproval, raw: Record<string, unknown>, digest: string, authenticatedBy: string,
  ): Promise<{ ok: boolean; text: string }> {
    const user = interactionUser(raw);
    if (!handlers || user === null) return { ok: false, text: 'This interaction has no user.' };
    const message = raw.message as { id?: unknown } | undefined;
    const answer: ApprovalAnswer = {
      decisionId: approval.decisionId, verdict: approval.verdict, platform: 'discord',
      platformUserId: user.id, displayName: user.name,
      conversationId: typeof raw.channel_id === 'string' ? raw.channel_id : null,
      platformMessageId: typeof message?.id === 'string' ? message.id : null,
      authenticatedBy, callbackDigest: digest, receivedAt: clock(),
    };
    try {
      await handlers.onApprovalAnswer(answer);
      return { ok: true, text: receipt(approval) };
    } catch (error) {
      logFailure(error, 'discord: approval answer not recorded', { decisionId: approval.decisionId });
      return { ok: false, text: failureText(error, 'Sorry, your answer was not recorded. Please try again.') };
    }
  }

  async function say(channelId: string, text: string): Promise<void> {
    try {
      await client.rest.post(Routes.channelMessages(channelId), { body: { content: text, allowed_mentions: { parse: [] } } });
    } catch (error) {
      log.warn({ err: error, channelId }, 'discord: could not reply');
    }
  }

  async function onMessage(message: Message): Promise<void> {
    if (!handlers || message.author.bot || message.system) return;
    const botId = client.user?.id ?? '';
    const mention = new RegExp(`<@!?${botId}>`, 'g');
    const addressed = message.guildId === null || (botId !== '' && mention.test(message.content));
    const text = message.content.replace(mention, '').trim();
    const command = parseApprovalCommand(text);
    if (!addressed && command === null) return;
    if (command?.kind === 'usage') {
      await say(message.channelId, approvalUsage(command.verdict));
      return;
    }
    const receivedAt = clock();
    if (command?.kind === 'answer') {
      const answer: ApprovalAnswer = {
        decisionId: command.decisionId, verdict: command.verdict, platform: 'discord',
        platformUserId: message.author.id, displayName: message.author.globalName ?? message.author.username,
        conversationId: message.channelId, platformMessageId: message.id,
        authenticatedBy: AUTHENTICATED_BY.discordGateway,
        callbackDigest: callbackDigest(canonicalBytes({ channel_id: message.channelId, id: message.id, author_id: message.author.id, content: message.content })),
        receivedAt,
      };
      try {
        await handlers.onApprovalAnswer(answer);
        await say(message.channelId, receipt(command));
      } catch (error) {
        logFailure(error, 'discord: approval answer not recorded', { decisionId: command.decisionId });
        await say(message.channelId, failureText(error, 'Sorry, I could not record your answer. Please try again.'));
      }
      return;
    }
    if (text === '') return;
    try {
      await handlers.onMessage({
        channel: 'discord', conversationId: message.channelId, channelUserId: message.author.id,
        displayName: message.author.globalName ?? message.author.username, text, platformMessageId: message.id,
        authenticatedBy: AUTHENTICATED_BY.discordGateway, receivedAt,
      });
    } catch (error) {
      logFailure(error, 'discord: message not accepted', {});
      await say(message.channelId, failureText(error, 'Sorry, I could not take your request right now. Please try again in a moment.'));
    }
  }

  async function onGatewayInteraction(interaction: Interaction): Promise<void> {
    if (!interaction.isButton() && !interaction.isChatInputCommand()) return;
    const digest = gatewayDigests.get(interaction.id);
    gatewayDigests.delete(interaction.id);
    const raw = {
      type: interaction.isButton() ? INTERACTION_COMPONENT : INTERACTION_COMMAND,
      data: interaction.isButton()
        ? { custom_id: interaction.customId }
        : { name: interaction.commandName, options: interaction.options.data.map((o) => ({ name: o.name, value: o.value })) },
      channel_id: interaction.channelId,
      user: { id: interaction.user.id, username: interaction.user.username, global_name: interaction.user.globalName },
      ...(interaction.isButton() ? { message: { id: interaction.message.id } } : {}),
    };
    const approval = approvalOfInteraction(raw);
    const outcome = approval === null
      ? { ok: false, text: 'This button is not one of mine.' }
      : await recordAnswer(approval, raw, digest ?? callbackDigest(canonicalBytes(raw)), AUTHENTICATED_BY.discordGateway);
    try {
      await interaction.reply({ content: outcome.text, flags: MessageFlags.Ephemeral, allowedMentions: { parse: [] } });
    } catch (error) {
      log.warn({ err: error }, 'discord: could not answer the interaction');
    }
  }

  client.on(Events.Raw, (packet: { t?: string; d?: { id?: string } }) => {
    // The gateway has no raw body per interaction: the digest is over the canonical JSON of its payload.
    if (packet.t === 'INTERACTION_CREATE' && typeof packet.d?.id === 'string') {
      gatewayDigests.set(packet.d.id, callbackDigest(canonicalBytes(packet.d)));
      if (gatewayDigests.size > 1000) gatewayDigests.delete(gatewayDigests.keys().next().value!);
    }
  });
  client.on(Events.MessageCreate, (message) => void onMessage(message));
  client.on(Events.InteractionCreate, (interaction) => void onGatewayInteraction(interaction));
  client.on(Events.Error, (error) => log.error({ err: error }, 'discord: client error'));

  const webhooks: WebhookRoute[] = [{
    method: 'POST',
    path: options.interactionsPath ?? '/discord/interactions',
    maxBodyBytes,
    async handle(request: WebhookRequest): Promise<WebhookResponse> {
      if (request.rawBody.length > maxBodyBytes) return refusal('SNT_PAYLOAD_TOO_LARGE', `the body is larger than ${maxBodyBytes} bytes`);
      const verification = verifyDiscordSignature({
        publicKey,
        signature: headerValue(request.headers, 'x-signature-ed25519'),
        timestamp: headerValue(request.headers, 'x-signature-timestamp'),
        rawBody: request.rawBody,
        now: clock(),
      });
      if (!verification.ok) return refusal(verification.code, verification.reason);
      const parsed = parseJsonObject(request.rawBody);
      if (!parsed.ok) return parsed.response;
      const raw = parsed.value;
      if (raw.type === INTERACTION_PING) return jsonResponse(200, { type: RESPONSE_PONG });
      if (!running) return refusal('SNT_DEPENDENCY_UNAVAILABLE', 'the Discord adapter is not running');
      const approval = approvalOfInteraction(raw);
      if (approval === null) return jsonResponse(200, ephemeral('This interaction is not one I handle.'));
      const outcome = await recordAnswer(approval, raw, callbackDigest(request.rawBody), verification.authenticatedBy);
      return jsonResponse(200, ephemeral(outcome.text));
    },
  }];

  async function channelOf(target: DeliveryTarget): Promise<string> {
    if (target.kind === 'conversation') return target.conversationId;
    const cached = dmChannels.get(target.channelUserId);
    if (cached) return cached;
    const dm = (await client.rest.post(Routes.userChannels(), { body: { recipient_id: target.channelUserId } })) as { id: string };
    dmChannels.set(target.channelUserId, dm.id);
    return dm.id;
  }

  return {
    name: 'discord',
    webhooks,
    async start(h: AdapterHandlers): Promise<void> {
      if (running) throw new Error('discord adapter already started');
      handlers = h;
      const timeoutMs = options.readyTimeoutMs ?? 30_000;
      let timer: NodeJS.Timeout | undefined;
      const ready = new Promise<void>((resolve, reject) => {
        client.once(Events.ClientReady, () => resolve());
        timer = setTimeout(() => reject(new Error(`discord: gateway not ready after ${timeoutMs} ms`)), timeoutMs);
      });
      try {
        await client.login(options.token);
        await ready;
      } catch (error) {
        handlers = null;
        await client.destroy();
        throw error;
      } finally {
        clearTimeout(timer);
      }
      running = true;
      log.info({ bot: client.user?.username }, 'discord adapter started');
    },
    async sendText(target, text): Promise<MessageRef> {
      try {
        const channelId = await channelOf(target);
        let first: string | null = null;
        for (const piece of splitDiscordText(text)) {
          const sent = (await client.rest.post(Routes.channelMessages(channelId), { body: { content: piece, allowed_mentions: { parse: [] } } })) as { id: string };
          first ??= sent.id;
        }
        return { channel: 'discord', conversationId: channelId, messageId: first! };
      } catch (error) {
        throw deliveryFailed('discord', 'create message', error);
      }
    },
    async sendPrompt(target, prompt: ApprovalPrompt): Promise<PromptRef> {
      try {
        const channelId = await channelOf(target);
        const sent = (await client.rest.post(Routes.channelMessages(channelId), { body: renderDiscordPrompt(prompt) })) as { id: string };
        return { channel: 'discord', conversationId: channelId, messageId: sent.id, decisionId: prompt.decisionId };
      } catch (error) {
        throw deliveryFailed('discord', 'create message', error);
      }
    },
    async updatePrompt(ref, prompt): Promise<void> {
      try {
        await client.rest.patch(Routes.channelMessage(ref.conversationId, ref.messageId), { body: renderDiscordPrompt(prompt) });
      } catch (error) {
        throw deliveryFailed('discord', 'edit message', error);
      }
    },
    async stop(): Promise<void> {
      running = false;
      handlers = null;
      await client.destroy();
    },
  };
}
