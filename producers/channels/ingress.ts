// What comes in: chat messages from every adapter and agents' HTTP calls become intents on
// sentinel.intents (or a clarifying question back), and approvers' answers become
// HumanApprovalResponded events on sentinel.human-approvals. An intent is acknowledged only once
// the broker has it; history is kept in PostgreSQL and pending questions in Redis.
import client from 'prom-client';
import { canonicalize } from '../../src/canonical/jcs.ts';
import { actionFromToolCall } from '../../src/channels/extract/tool-call.ts';
import type { ExtractionResult, IntentExtractor } from '../../src/channels/extract/types.ts';
import { resolvePrincipal, type IdentityDirectory } from '../../src/channels/identity/links.ts';
import type { ApprovalAnswer, InboundMessage } from '../../src/channels/types.ts';
import { HumanApprovalResponded, IntentSubmitted, intentKey } from '../../src/contracts/events.ts';
import { summarizeAction } from '../../src/domain/summary.ts';
import type { ChannelName, ChannelReply, ConversationRef, Intent } from '../../src/domain/types.ts';
import { SentinelError } from '../../src/errors/index.ts';
import { deterministicUuid } from '../../src/kafka/ids.ts';
import type { EventPublisher } from '../../src/kafka/publisher.ts';
import type { Logger } from '../../src/observability/log.ts';
import type { Registry } from '../../src/observability/metrics.ts';
import { childSpan, cryptoRandomHex, newTrace, type TraceContext } from '../../src/observability/trace.ts';
import type { Deliverer } from './deliveries.ts';
import { buildIntent, directReply, humanResponseOf, inboundKey, intentIdFor, refusalError, screenAnswer } from './model.ts';
import type { ChannelSessions } from './sessions.ts';
import type { ChannelsStore } from './store.ts';

export interface IngressOptions {
  directory: IdentityDirectory;
  extractor: IntentExtractor;
  sessions: ChannelSessions;
  store: ChannelsStore;
  publisher: EventPublisher;
  deliverer: Deliverer;
  log: Logger;
  metrics: Registry;
  clock: () => number;
  newId: () => string;
}

/** An agent's or service's request to POST /api/message. */
export interface ApiMessage {
  userId: string;
  displayName?: string;
  channel?: ChannelName;
  conversationId?: string;
  messageId?: string;
  text?: string;
  toolCall?: { tool: unknown; arguments?: unknown };
}

export type ApiResult =
  | { status: 'accepted'; intentId: string; conversation: ConversationRef; action: Intent['action']; extraction: Intent['extraction']; duplicate: boolean }
  | { status: 'clarification'; question: string; conversation: ConversationRef }
  | { status: 'help'; text: string; conversation: ConversationRef };

export class Ingress {
  private readonly o: IngressOptions;
  private readonly messages: client.Counter<'channel' | 'result'>;
  private readonly answers: client.Counter<'channel' | 'verdict' | 'result'>;

  constructor(options: IngressOptions) {
    this.o = options;
    this.messages = new client.Counter({
      name: 'sentinel_channels_messages_total', help: 'Messages and tool calls taken, by channel and result (intent, clarification, help, duplicate)',
      labelNames: ['channel', 'result'], registers: [options.metrics],
    });
    this.answers = new client.Counter({
      name: 'sentinel_channels_approval_answers_total', help: 'Approvers\' answers by channel, verdict and result (recorded, or the refusal reason)',
      labelNames: ['channel', 'verdict', 'result'], registers: [options.metrics],
    });
  }

  private async publishIntent(intent: Intent, trace: TraceContext): Promise<void> {
    // The event id is derived from the intent id: a retried publish is recognisably the same event.
    await brokerWrite('the intent', () => this.o.publisher.publish(IntentSubmitted, intent, { key: intentKey(intent), trace, eventId: deterministicUuid('event', intent.intentId) }));
  }

  private async answerText(reply: ChannelReply, trace: TraceContext): Promise<void> {
    await this.o.deliverer.handleReply(reply, { traceId: trace.traceId, spanId: trace.spanId });
  }

  /** A chat message from an adapter (Telegram, Discord, Slack, web chat). */
  async onMessage(m: InboundMessage): Promise<void> {
    const trace = newTrace();
    const requester = resolvePrincipal(this.o.directory, m.channel, m.channelUserId, m.displayName);
    const pending = await this.o.sessions.pending(m.channel, m.conversationId, requester.userId);
    const result = await this.o.extractor.extract({ text: m.text, pending });
    const intentId = result.kind === 'action' ? intentIdFor(m.channel, m.conversationId, m.platformMessageId) : null;
    const key = inboundKey(m.channel, m.conversationId, m.platformMessageId);
    // First writer wins: a platform redelivery, or a second replica on the same gateway, stops here.
    const fresh = await this.o.store.recordInbound({
      key, channel: m.channel, conversationId: m.conversationId, kind: 'message', userId: requester.userId, intentId, decisionId: null,
      text: m.text, traceId: trace.traceId, at: m.receivedAt,
    });
    if (!fresh) {
      this.messages.inc({ channel: m.channel, result: 'duplicate' });
      return;
    }
    this.o.log.debug({ channel: m.channel, channelUserId: m.channelUserId, userId: requester.userId, traceId: trace.traceId }, 'message received');
    try {
      await this.act(result, {
        conversation: { channel: m.channel, conversationId: m.conversationId }, requester, text: m.text, platformMessageId: m.platformMessageId,
        submittedAt: m.receivedAt, source: 'chat', hadPending: pending !== null, trace,
      });
    } catch (error) {
      await this.o.store.forgetInbound(key).catch(() => undefined);
      throw error;
    }
  }

  private async act(result: ExtractionResult, c: {
    conversation: ConversationRef; requester: Intent['requester']; text: string; platformMessageId: string; submittedAt: number;
    source: Intent['source']; hadPending: boolean; trace: TraceContext;
  }): Promise<ApiResult> {
    const { channel, conversationId } = c.conversation;
    const source = { channel, conversationId, platformMessageId: c.platformMessageId };
    switch (result.kind) {
      case 'action': {
        const intent = buildIntent({
          conversation: c.conversation, requester: c.requester, source: c.source, text: c.text, action: result.action,
          extraction: { extractor: result.extractor, confidence: result.confidence }, platformMessageId: c.platformMessageId, submittedAt: c.submittedAt,
        });
        await this.publishIntent(intent, c.trace);
        if (c.hadPending) await this.o.sessions.setPending(channel, conversationId, c.requester.userId, null);
        this.messages.inc({ channel, result: 'intent' });
        this.o.log.info({ intentId: intent.intentId, traceId: c.trace.traceId, channel, action: intent.action.type }, 'intent submitted');
        return { status: 'accepted', intentId: intent.intentId, conversation: c.conversation, action: intent.action, extraction: intent.extraction, duplicate: false };
      }
      case 'clarify':
        await this.o.sessions.setPending(channel, conversationId, c.requester.userId, result.pending);
        await this.answerText(directReply(source, 'clarification', result.question), c.trace);
        this.messages.inc({ channel, result: 'clarification' });
        return { status: 'clarification', question: result.question, conversation: c.conversation };
      case 'help':
        if (c.hadPending) await this.o.sessions.setPending(channel, conversationId, c.requester.userId, null);
        await this.answerText(directReply(source, 'info', result.text), c.trace);
        this.messages.inc({ channel, result: 'help' });
        return { status: 'help', text: result.text, conversation: c.conversation };
      default: {
        const exhaustive: never = result;
        throw new TypeError(`unknown extraction result ${String(exhaustive)}`);
      }
    }
  }

  /**
   * POST /api/message: an agent's tool call (validated against the action schema) or a text, on
   * behalf of `userId` on `channel` (default http, whose conversations are read over the API).
   */
  async submitApi(body: ApiMessage, trace: TraceContext, reachable: ReadonlySet<ChannelName>): Promise<ApiResult> {
    const channel = body.channel ?? 'http';
    if (channel !== 'http' && !reachable.has(channel)) {
      throw new SentinelError('SNT_CHANNEL_UNKNOWN', `the ${channel} channel is not enabled on this service`, { details: { paths: ['body/channel'] } });
    }
    const conversationId = body.conversationId ?? (channel === 'web' ? body.userId : `api:${body.userId}`);
    const conversation = { channel, conversationId };
    const requester = resolvePrincipal(this.o.directory, channel, body.userId, body.displayName ?? null);
    const platformMessageId = body.messageId ?? this.o.newId();
    const submittedAt = this.o.clock();
    const key = inboundKey(channel, conversationId, platformMessageId);

    if (body.toolCall !== undefined) {
      const call = actionFromToolCall({ tool: body.toolCall.tool, arguments: body.toolCall.arguments });
      if (!call.ok) {
        const paths = ((call.error.details.paths as string[] | undefined) ?? []).map((p) => `body/toolCall${p}`);
        throw new SentinelError('SNT_VALIDATION_FAILED', call.error.message, { details: { ...call.error.details, paths } });
      }
      const intent = buildIntent({
        conversation, requester, source: 'agent', text: null, action: call.action, extraction: { extractor: 'tool-call', confidence: 1 },
        platformMessageId, submittedAt,
      });
      // The broker write and the history write run together; both are idempotent by message id.
      const [, fresh] = await Promise.all([
        this.publishIntent(intent, trace),
        this.o.store.recordInbound({
          key, channel, conversationId, kind: 'tool_call', userId: requester.userId, intentId: intent.intentId, decisionId: null,
          text: toolCallText(String(body.toolCall.tool), body.toolCall.arguments, call.action), traceId: trace.traceId, at: submittedAt,
        }),
      ]);
      this.messages.inc({ channel, result: fresh ? 'intent' : 'duplicate' });
      this.o.log.info({ intentId: intent.intentId, traceId: trace.traceId, channel, action: intent.action.type, duplicate: !fresh }, 'intent submitted');
      return { status: 'accepted', intentId: intent.intentId, conversation, action: intent.action, extraction: intent.extraction, duplicate: !fresh };
    }

    const text = body.text ?? '';
    const pending = await this.o.sessions.pending(channel, conversationId, requester.userId);
    const result = await this.o.extractor.extract({ text, pending });
    const intentId = result.kind === 'action' ? intentIdFor(channel, conversationId, platformMessageId) : null;
    const fresh = await this.o.store.recordInbound({
      key, channel, conversationId, kind: 'message', userId: requester.userId, intentId, decisionId: null, text, traceId: trace.traceId, at: submittedAt,
    });
    if (!fresh && result.kind === 'action') {
      // The same message again (a client retry): the intent is re-sent with the same id, nothing new happens.
      const intent = buildIntent({
        conversation, requester, source: 'agent', text, action: result.action, extraction: { extractor: result.extractor, confidence: result.confidence },
        platformMessageId, submittedAt,
      });
      await this.publishIntent(intent, trace);
      this.messages.inc({ channel, result: 'duplicate' });
      return { status: 'accepted', intentId: intent.intentId, conversation, action: intent.action, extraction: intent.extraction, duplicate: true };
    }
    return this.act(result, { conversation, requester, text, platformMessageId, submittedAt, source: 'agent', hadPending: pending !== null, trace });
  }

  /** An approver's answer from any adapter: screened, then passed to the signer with its evidence. */
  async onApprovalAnswer(a: ApprovalAnswer): Promise<void> {
    const approver = resolvePrincipal(this.o.directory, a.platform, a.platformUserId, a.displayName);
    const stored = await this.o.store.prompt(a.decisionId);
    const screening = screenAnswer(stored, approver, a.decisionId, this.o.clock());
    if (!screening.ok) {
      this.answers.inc({ channel: a.platform, verdict: a.verdict, result: screening.reason });
      this.o.log.warn({
        decisionId: a.decisionId, platform: a.platform, platformUserId: a.platformUserId, userId: approver.userId, reason: screening.reason,
        authenticatedBy: a.authenticatedBy,
      }, `approval answer refused: ${screening.message}`);
      throw refusalError(screening, { decisionId: a.decisionId });
    }
    const prompt = stored!;
    const response = humanResponseOf(a, approver, prompt.intentId);
    // The answer continues the trace of the request it decides.
    const trace = prompt.traceId !== null && prompt.spanId !== null
      ? childSpan({ traceId: prompt.traceId, spanId: prompt.spanId, parentSpanId: null, sampled: true }, cryptoRandomHex)
      : newTrace();
    await brokerWrite('the answer', () => this.o.publisher.publish(HumanApprovalResponded, response, {
      key: response.decisionId, trace, eventId: deterministicUuid('event', response.responseId),
    }));
    const conversationId = a.conversationId ?? a.platformUserId;
    await this.o.store.recordInbound({
      key: inboundKey(a.platform, conversationId, `answer:${response.responseId}`), channel: a.platform, conversationId, kind: 'approval_answer',
      userId: approver.userId, intentId: prompt.intentId, decisionId: a.decisionId, text: `/${a.verdict} ${a.decisionId}`, traceId: trace.traceId, at: a.receivedAt,
    });
    this.answers.inc({ channel: a.platform, verdict: a.verdict, result: 'recorded' });
    this.o.log.info({ decisionId: a.decisionId, verdict: a.verdict, userId: approver.userId, platform: a.platform, traceId: trace.traceId }, 'approval answer recorded');
  }
}

/** A failed broker write is a dependency outage for the caller (503, "try again"), never a bug report. */
async function brokerWrite<T>(what: string, write: () => Promise<T>): Promise<T> {
  try {
    return await write();
  } catch (error) {
    if (error instanceof SentinelError) throw error;
    throw new SentinelError('SNT_DEPENDENCY_UNAVAILABLE', `${what} could not be written to Kafka: ${(error as Error)?.message ?? String(error)}`, { cause: error });
  }
}

function toolCallText(tool: string, args: unknown, action: Intent['action']): string {
  let json = '{}';
  try {
    json = canonicalize(args ?? {});
  } catch {
    // validated already; keep the summary
  }
  return `${tool} ${json.length > 500 ? `${json.slice(0, 499)}…` : json} (${summarizeAction(action)})`;
}
