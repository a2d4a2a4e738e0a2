// Slack adapter on @slack/bolt. Two ways in, both handled by the same bolt listeners:
//   - HTTP (Events API, interactivity and slash commands at one Request URL): every request is
//     authenticated with the signing secret before it is parsed: X-Slack-Signature =
//     "v0=" + HMAC-SHA256(secret, "v0:" + X-Slack-Request-Timestamp + ":" + raw body), timestamp
//     within five minutes, constant-time comparison. Bolt's own receivers are not used, so the
//     check is ours and the raw body is kept for the callback digest.
//   - Socket Mode (SLACK_APP_TOKEN): Slack pushes the same payloads over a WebSocket opened with the
//     app-level token; no public URL needed.
// Direct messages and @mentions become InboundMessages; Block Kit button presses and the /approve
// and /deny slash commands become ApprovalAnswers. Prompts are Block Kit messages; updates call
// chat.update.
import { App, LogLevel, SocketModeReceiver, type Logger as BoltLogger, type Receiver } from '@slack/bolt';
import { canonicalBytes } from '../../canonical/jcs.ts';
import type { ApprovalPrompt } from '../../domain/types.ts';
import type { Logger } from '../../observability/log.ts';
import { AUTHENTICATED_BY, callbackDigest, headerValue, verifySlackSignature } from '../auth/verify.ts';
import { approvalUsage, parseApprovalCallback, parseApprovalCommand, type ParsedApproval } from '../render/callback.ts';
import { renderSlackPrompt, SLACK_APPROVE_ACTION_ID, SLACK_DENY_ACTION_ID } from '../render/prompt.ts';
import type {
  AdapterHandlers, ApprovalAnswer, ChannelAdapter, DeliveryTarget, MessageRef, PromptRef, WebhookRequest, WebhookResponse, WebhookRoute,
} from '../types.ts';
import { DEFAULT_WEBHOOK_BODY_LIMIT, deliveryFailed, failureText, isRefusal, jsonResponse, refusal, silentLogger } from './common.ts';

export interface SlackAdapterOptions {
  /** SLACK_BOT_TOKEN (xoxb-...). */
  botToken: string;
  /** SLACK_SIGNING_SECRET: HTTP mode. */
  signingSecret?: string;
  /** SLACK_APP_TOKEN (xapp-...): Socket Mode instead of HTTP. */
  appToken?: string;
  /** SLACK_API_ROOT, e.g. https://slack.com/api/; tests point it at a local fake. */
  apiRoot?: string;
  /** Path of the Request URL route (events, interactivity, slash commands); default /slack/events. */
  eventsPath?: string;
  log?: Logger;
  clock?: () => number;
  maxBodyBytes?: number;
  /** How long an HTTP callback may wait for its acknowledgement. Slack gives up after 3 s. Default 2.5 s. */
  ackTimeoutMs?: number;
}

/** Slack's advice: keep a message's text under 4,000 characters. */
const TEXT_LIMIT = 4000;

interface CallbackMeta { digest: string; authenticatedBy: string }

type AckBody = Record<string, unknown> | string | undefined;

function boltLogger(log: Logger): BoltLogger {
  let level: LogLevel = LogLevel.INFO;
  const text = (msg: unknown[]) => msg.map((m) => (m instanceof Error ? m.message : typeof m === 'string' ? m : JSON.stringify(m))).join(' ');
  return {
    debug: (...msg) => log.debug({ lib: 'bolt' }, text(msg)),
    info: (...msg) => log.info({ lib: 'bolt' }, text(msg)),
    warn: (...msg) => log.warn({ lib: 'bolt' }, text(msg)),
    error: (...msg) => log.error({ lib: 'bolt' }, text(msg)),
    setLevel: (l) => { level = l; },
    getLevel: () => level,
    setName: () => undefined,
  };
}

export function splitSlackText(text: string, limit = TEXT_LIMIT): string[] {
  const pieces: string[] = [];
  let rest = text;
  while (rest.length > limit) {
    let cut = rest.lastIndexOf('\n', limit);
    if (cut < limit / 2) cut = limit;
    pieces.push(rest.slice(0, cut));
    rest = rest.slice(cut).replace(/^\n/, '');
  }
  pieces.push(rest === '' ? ' ' : rest);
  return pieces;
}

/** Parses a Slack HTTP body: JSON (Events API), form with `payload` (interactivity) or plain form (slash commands). */
function parseSlackBody(request: WebhookRequest): Record<string, unknown> | null {
  const type = (headerValue(request.headers, 'content-type') ?? '').toLowerCase();
  const text = request.rawBody.toString('utf8');
  try {
    if (type.startsWith('application/json')) {
      const value: unknown = JSON.parse(text);
      return value !== null && typeof value === 'object' && !Array.isArray(value) ? (value as Record<string, unknown>) : null;
    }
    if (type.startsWith('application/x-www-form-urlencoded')) {
      const form = new URLSearchParams(text);
      const payload = form.get('payload');
      if (payload !== null) {
        const value: unknown = JSON.parse(payload);
        return value !== null && typeof value === 'object' && !Array.isArray(value) ? (value as Record<string, unknown>) : null;
      }
      return Object.fromEntries(form);
    }
  } catch {
    return null;
  }
  return null;
}

export function createSlackAdapter(options: SlackAdapterOptions): ChannelAdapter {
  if (options.botToken === '') throw new TypeError('SLACK_BOT_TOKEN is empty');
  const socketMode = (options.appToken ?? '') !== '';
  const signingSecret = options.signingSecret ?? '';
  if (!socketMode && signingSecret === '') throw new TypeError('SLACK_SIGNING_SECRET is required (or SLACK_APP_TOKEN for Socket Mode)');
  const log = options.log ?? silentLogger();
  const clock = options.clock ?? Date.now;
  const maxBodyBytes = options.maxBodyBytes ?? DEFAULT_WEBHOOK_BODY_LIMIT;
  const ackTimeoutMs = options.ackTimeoutMs ?? 2500;
  const logger = boltLogger(log);
  const clientOptions = {
    ...(options.apiRoot ? { slackApiUrl: options.apiRoot.endsWith('/') ? options.apiRoot : `${options.apiRoot}/` } : {}),
    // Bounded retries: a reply that cannot be delivered must fail back to the caller, not retry for half an hour.
    retryConfig: { retries: 2, factor: 2, minTimeout: 200, maxTimeout: 2000 },
    timeout: 10_000,
  };

  const meta = new WeakMap<object, CallbackMeta>();
  // HTTP mode: a receiver that does nothing itself; the webhook route below feeds bolt.processEvent.
  const receiver: Receiver = socketMode
    ? new SocketModeReceiver({ appToken: options.appToken!, logger, installerOptions: { clientOptions }, autoReconnectEnabled: true })
    : { init: () => undefined, start: () => Promise.resolve(), stop: () => Promise.resolve() };
  const bolt = new App({
    token: options.botToken,
    receiver,
    logger,
    clientOptions,
    deferInitialization: true,
  });
  let handlers: AdapterHandlers | null = null;
  let running = false;

  function metaOf(body: object): CallbackMeta {
    // Socket Mode hands over parsed payloads: the digest is over their RFC 8785 canonical JSON.
    return meta.get(body) ?? { digest: callbackDigest(canonicalBytes(body)), authenticatedBy: AUTHENTICATED_BY.slackSocketMode };
  }

  async function postEphemeral(channel: string | undefined, user: string, text: string): Promise<void> {
    if (channel === undefined) return;
    try {
      await bolt.client.chat.postEphemeral({ channel, user, text });
    } catch (error) {
      log.warn({ err: error }, 'slack: could not post an ephemeral reply');
    }
  }

  async function say(channel: string, text: string): Promise<void> {
    try {
      await bolt.client.chat.postMessage({ channel, text, unfurl_links: false, unfurl_media: false });
    } catch (error) {
      log.warn({ err: error, channel }, 'slack: could not reply');
    }
  }

  function logFailure(error: unknown, message: string, context: Record<string, unknown>): void {
    if (isRefusal(error)) log.info({ ...context, code: error.code }, `${message}: ${error.message}`);
    else log.error({ ...context, err: error }, message);
  }

  async function record(answer: ApprovalAnswer): Promise<{ ok: boolean; text: string }> {
    if (!handlers) return { ok: false, text: 'Not ready yet; please try again.' };
    try {
      await handlers.onApprovalAnswer(answer);
      return {
        ok: true,
        text: answer.verdict === 'approve'
          ? `Your approval of ${answer.decisionId} was received; the card updates once it is confirmed.`
          : `Your denial of ${answer.decisionId} was received.`,
      };
    } catch (error) {
      logFailure(error, 'slack: approval answer not recorded', { decisionId: answer.decisionId });
      return { ok: false, text: failureText(error, 'Sorry, your answer was not recorded. Please try again.') };
    }
  }

  async function takeMessage(body: object, event: { channel: string; user: string; text: string; ts: string }): Promise<void> {
    if (!handlers) return;
    const { digest, authenticatedBy } = metaOf(body);
    const command = parseApprovalCommand(event.text);
    if (command?.kind === 'usage') {
      await say(event.channel, approvalUsage(command.verdict));
      return;
    }
    if (command?.kind === 'answer') {
      const outcome = await record({
        decisionId: command.decisionId, verdict: command.verdict, platform: 'slack', platformUserId: event.user, displayName: null,
        conversationId: event.channel, platformMessageId: event.ts, authenticatedBy, callbackDigest: digest, receivedAt: clock(),
      });
      await say(event.channel, outcome.text);
      return;
    }
    try {
      await handlers.onMessage({
        channel: 'slack', conversationId: event.channel, channelUserId: event.user, displayName: null, text: event.text,
        platformMessageId: event.ts, authenticatedBy, receivedAt: clock(),
      });
    } catch (error) {
      logFailure(error, 'slack: message not accepted', {});
      await say(event.channel, failureText(error, 'Sorry, I could not take your request right now. Please try again in a moment.'));
    }
  }

  // Direct messages (message.im). Messages from bots, edits and other subtypes are not requests.
  bolt.event('message', async ({ event, body }) => {
    const e = event as { channel_type?: string; subtype?: string; bot_id?: string; user?: string; text?: string; channel: string; ts: string };
    if (e.channel_type !== 'im' || e.subtype !== undefined || e.bot_id !== undefined || !e.user || typeof e.text !== 'string') return;
    await takeMessage(body, { channel: e.channel, user: e.user, text: e.text.trim(), ts: e.ts });
  });

  // @mentions in channels: the mention itself is not part of the request.
  bolt.event('app_mention', async ({ event, body, context }) => {
    const e = event as { user?: string; text: string; channel: string; ts: string; bot_id?: string };
    if (!e.user || e.bot_id !== undefined) return;
    const mention = context.botUserId ? new RegExp(`<@${context.botUserId}(?:\\|[^>]*)?>`, 'g') : /<@[A-Z0-9]+(?:\|[^>]*)?>/g;
    const text = e.text.replace(mention, '').trim();
    if (text === '') return;
    await takeMessage(body, { channel: e.channel, user: e.user, text, ts: e.ts });
  });

  const onButton = async (args: { ack: () => Promise<void>; body: unknown; action: unknown }) => {
    const body = args.body as {
      user: { id: string; username?: string; name?: string };
      channel?: { id: string };
      container?: { channel_id?: string; message_ts?: string };
      message?: { ts?: string };
    };
    const action = args.action as { value?: string };
    const parsed = parseApprovalCallback(action.value);
    const channel = body.channel?.id ?? body.container?.channel_id;
    if (parsed === null) {
      await args.ack();
      await postEphemeral(channel, body.user.id, 'This button is not one of mine.');
      return;
    }
    const { digest, authenticatedBy } = metaOf(args.body as object);
    const outcome = await record({
      decisionId: parsed.decisionId, verdict: parsed.verdict, platform: 'slack', platformUserId: body.user.id,
      displayName: body.user.name ?? body.user.username ?? null, conversationId: channel ?? null,
      platformMessageId: body.message?.ts ?? body.container?.message_ts ?? null, authenticatedBy, callbackDigest: digest, receivedAt: clock(),
    });
    await args.ack();
    await postEphemeral(channel, body.user.id, outcome.text);
  };
  bolt.action({ type: 'block_actions', action_id: SLACK_APPROVE_ACTION_ID }, onButton);
  bolt.action({ type: 'block_actions', action_id: SLACK_DENY_ACTION_ID }, onButton);

  // The text fallback: Slack intercepts "/..." in the composer, so /approve and /deny are slash commands.
  const onCommand = async (args: { ack: (response?: AckBody) => Promise<void>; body: unknown; command: { command: string; text: string; user_id: string; user_name?: string; channel_id: string; trigger_id?: string } }) => {
    const { command } = args;
    const parsed: ParsedApproval | null = (() => {
      const c = parseApprovalCommand(`${command.command} ${command.text}`);
      return c?.kind === 'answer' ? { decisionId: c.decisionId, verdict: c.verdict } : null;
    })();
    if (parsed === null) {
      await args.ack({ response_type: 'ephemeral', text: approvalUsage(command.command === '/deny' ? 'deny' : 'approve') });
      return;
    }
    const { digest, authenticatedBy } = metaOf(args.body as object);
    const outcome = await record({
      decisionId: parsed.decisionId, verdict: parsed.verdict, platform: 'slack', platformUserId: command.user_id,
      displayName: command.user_name ?? null, conversationId: command.channel_id, platformMessageId: null,
      authenticatedBy, callbackDigest: digest, receivedAt: clock(),
    });
    await args.ack({ response_type: 'ephemeral', text: outcome.text });
  };
  bolt.command('/approve', onCommand);
  bolt.command('/deny', onCommand);

  bolt.error(async (error) => {
    log.error({ err: error }, 'slack: listener failed');
  });

  const webhooks: WebhookRoute[] = socketMode ? [] : [{
    method: 'POST',
    path: options.eventsPath ?? '/slack/events',
    maxBodyBytes,
    async handle(request: WebhookRequest): Promise<WebhookResponse> {
      if (request.rawBody.length > maxBodyBytes) return refusal('SNT_PAYLOAD_TOO_LARGE', `the body is larger than ${maxBodyBytes} bytes`);
      const verification = verifySlackSignature({
        signingSecret,
        signature: headerValue(request.headers, 'x-slack-signature'),
        timestamp: headerValue(request.headers, 'x-slack-request-timestamp'),
        rawBody: request.rawBody,
        now: clock(),
      });
      if (!verification.ok) return refusal(verification.code, verification.reason);
      const body = parseSlackBody(request);
      if (body === null) return refusal('SNT_VALIDATION_FAILED', 'the body is not a Slack JSON or form payload', { paths: [''] });
      if (body.type === 'url_verification') return jsonResponse(200, { challenge: String(body.challenge ?? '') });
      if (body.ssl_check !== undefined) return jsonResponse(200, undefined);
      if (!running) return refusal('SNT_DEPENDENCY_UNAVAILABLE', 'the Slack adapter is not running');
      meta.set(body, { digest: callbackDigest(request.rawBody), authenticatedBy: verification.authenticatedBy });

      const retry = headerValue(request.headers, 'x-slack-retry-num');
      let acked: (response: WebhookResponse) => void = () => undefined;
      const ackResponse = new Promise<WebhookResponse>((resolve) => { acked = resolve; });
      const processing = bolt.processEvent({
        body,
        ack: async (response?: AckBody) => {
          acked(response === undefined || response === '' ? jsonResponse(200, undefined)
            : typeof response === 'string' ? { status: 200, headers: { 'content-type': 'text/plain; charset=utf-8' }, body: response }
            : jsonResponse(200, response));
        },
        ...(retry !== undefined && /^\d+$/.test(retry) ? { retryNum: Number(retry) } : {}),
        ...(headerValue(request.headers, 'x-slack-retry-reason') !== undefined ? { retryReason: headerValue(request.headers, 'x-slack-retry-reason')! } : {}),
      });
      let timer: NodeJS.Timeout | undefined;
      const finished = processing.then(
        () => jsonResponse(200, undefined),
        (error: unknown) => {
          log.error({ err: error }, 'slack: event processing failed');
          return refusal('SNT_INTERNAL', 'the event could not be processed');
        },
      );
      const late = new Promise<WebhookResponse>((resolve) => {
        timer = setTimeout(() => resolve(jsonResponse(200, undefined)), ackTimeoutMs);
      });
      try {
        // Answer at the acknowledgement; a listener keeps running afterwards (e.g. the ephemeral receipt).
        return await Promise.race([ackResponse, finished, late]);
      } finally {
        clearTimeout(timer);
      }
    },
  }];

  async function channelOf(target: DeliveryTarget): Promise<string> {
    if (target.kind === 'conversation') return target.conversationId;
    const opened = await bolt.client.conversations.open({ users: target.channelUserId });
    const id = (opened.channel as { id?: string } | undefined)?.id;
    if (!id) throw new Error('conversations.open returned no channel');
    return id;
  }

  return {
    name: 'slack',
    webhooks,
    async start(h: AdapterHandlers): Promise<void> {
      if (running) throw new Error('slack adapter already started');
      handlers = h;
      try {
        await bolt.init(); // auth.test: a bad token fails here
        if (socketMode) await bolt.start();
      } catch (error) {
        handlers = null;
        throw error;
      }
      running = true;
      log.info({ mode: socketMode ? 'socket' : 'http' }, 'slack adapter started');
    },
    async sendText(target, text): Promise<MessageRef> {
      try {
        const channel = await channelOf(target);
        let first: string | null = null;
        for (const piece of splitSlackText(text)) {
          const sent = await bolt.client.chat.postMessage({ channel, text: piece, unfurl_links: false, unfurl_media: false });
          first ??= String(sent.ts);
        }
        return { channel: 'slack', conversationId: channel, messageId: first! };
      } catch (error) {
        throw deliveryFailed('slack', 'chat.postMessage', error);
      }
    },
    async sendPrompt(target, prompt: ApprovalPrompt): Promise<PromptRef> {
      try {
        const channel = await channelOf(target);
        const { text, blocks } = renderSlackPrompt(prompt);
        const sent = await bolt.client.chat.postMessage({ channel, text, blocks: blocks as never, unfurl_links: false, unfurl_media: false });
        return { channel: 'slack', conversationId: String(sent.channel ?? channel), messageId: String(sent.ts), decisionId: prompt.decisionId };
      } catch (error) {
        throw deliveryFailed('slack', 'chat.postMessage', error);
      }
    },
    async updatePrompt(ref, prompt): Promise<void> {
      try {
        const { text, blocks } = renderSlackPrompt(prompt);
        await bolt.client.chat.update({ channel: ref.conversationId, ts: ref.messageId, text, blocks: blocks as never });
      } catch (error) {
        throw deliveryFailed('slack', 'chat.update', error);
      }
    },
    async stop(): Promise<void> {
      const wasRunning = running;
      running = false;
      handlers = null;
      // Wait for the WebSocket close handshake (bolt's stop() does not), so no timer outlives the adapter.
      if (socketMode && wasRunning) await (receiver as SocketModeReceiver).client.disconnect();
    },
  };
}
