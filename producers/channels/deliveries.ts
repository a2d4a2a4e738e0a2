// Delivering replies: one attempt per planned destination, the result recorded in PostgreSQL.
// Transient platform failures (SNT_CHANNEL_DELIVERY_FAILED from a rate limit, a 5xx, the network)
// are retried with backoff by the scheduler, up to a bound; permanent ones (and retries that ran
// out) end as "failed" with the error, logged and counted: never dropped silently.
import client from 'prom-client';
import type { ChannelAdapter, DeliveryTarget, PromptRef } from '../../src/channels/types.ts';
import type { ChannelName, ChannelReply } from '../../src/domain/types.ts';
import type { IdentityDirectory } from '../../src/channels/identity/links.ts';
import type { Logger } from '../../src/observability/log.ts';
import type { Registry } from '../../src/observability/metrics.ts';
import { classifyDeliveryFailure, retryDelayMs } from './classify.ts';
import { planDeliveries } from './routing.ts';
import type { ChannelsStore, DeliveryResult, DeliveryRow } from './store.ts';
import { webPromptRef, type WebChatBridge } from './webbridge.ts';

export interface DelivererOptions {
  adapters: ReadonlyMap<ChannelName, ChannelAdapter>;
  web: WebChatBridge;
  store: ChannelsStore;
  directory: IdentityDirectory;
  log: Logger;
  metrics: Registry;
  clock: () => number;
  random?: () => number;
  /** Attempts before a transiently failing delivery is given up as failed. Default 8. */
  maxAttempts?: number;
  /** First retry delay; doubles per attempt up to a minute. Default 1 s. */
  retryBaseMs?: number;
}

export class Deliverer {
  private readonly options: DelivererOptions;
  private readonly random: () => number;
  private readonly maxAttempts: number;
  private readonly deliveries: client.Counter<'channel' | 'operation' | 'status'>;
  private readonly problems: client.Counter<'kind'>;
  readonly reachable: ReadonlySet<ChannelName>;

  constructor(options: DelivererOptions) {
    this.options = options;
    this.random = options.random ?? Math.random;
    this.maxAttempts = options.maxAttempts ?? 8;
    this.reachable = new Set<ChannelName>(['web', ...options.adapters.keys()]);
    this.deliveries = new client.Counter({
      name: 'sentinel_channels_deliveries_total', help: 'Reply deliveries by channel, operation and result (delivered, waiting, retry, failed, skipped)',
      labelNames: ['channel', 'operation', 'status'], registers: [options.metrics],
    });
    this.problems = new client.Counter({
      name: 'sentinel_channels_undeliverable_total', help: 'Replies (or parts of them) with no reachable destination', labelNames: ['kind'], registers: [options.metrics],
    });
  }

  /**
   * Records a reply once (deduplicated by reply id) with where it goes, then delivers whatever of
   * it is still pending: a redelivered record completes an interrupted delivery and repeats nothing.
   */
  async handleReply(reply: ChannelReply, trace: { traceId: string | null; spanId: string | null }): Promise<void> {
    const { store, directory, log } = this.options;
    const promptRefs = reply.kind === 'approval_update' && reply.prompt ? await store.promptRefs(reply.prompt.decisionId) : [];
    const plan = planDeliveries(reply, { directory, reachable: this.reachable, promptRefs });
    const fresh = await store.recordReply(reply, plan, { ...trace, now: this.options.clock() });
    if (fresh && plan.problems.length > 0) {
      this.problems.inc({ kind: reply.kind }, plan.problems.length);
      log.error({ replyId: reply.replyId, kind: reply.kind, traceId: trace.traceId, problems: plan.problems }, 'reply cannot reach every recipient');
    }
    const pending = await store.pendingDeliveries(reply.replyId);
    await this.run(pending);
    log.debug({ replyId: reply.replyId, kind: reply.kind, intentId: reply.intentId, traceId: trace.traceId, spanId: trace.spanId, recorded: fresh, deliveries: pending.length }, 'reply handled');
  }

  /** Attempts deliveries and records each result. Storage failures propagate (the caller retries). */
  async run(rows: readonly DeliveryRow[]): Promise<void> {
    for (const row of rows) {
      const result = await this.attempt(row);
      await this.options.store.finishDelivery(row, result);
      this.deliveries.inc({ channel: row.channel, operation: row.operation, status: result.status });
      const context = { replyId: row.replyId, channel: row.channel, target: row.targetKey, operation: row.operation, attempts: result.attempts };
      if (result.status === 'failed') this.options.log.error({ ...context, error: result.error }, 'delivery failed permanently');
      else if (result.status === 'retry') this.options.log.warn({ ...context, error: result.error }, 'delivery failed; will retry');
    }
  }

  private async attempt(row: DeliveryRow): Promise<DeliveryResult> {
    const attempts = row.attempts + 1;
    const adapter = this.options.adapters.get(row.channel);
    if (row.channel !== 'web' && adapter === undefined) {
      return { status: 'failed', attempts, error: `the ${row.channel} channel is not enabled on this service` };
    }
    try {
      if (row.channel === 'web') return await this.attemptWeb(row, attempts);
      return await this.attemptPlatform(adapter!, row, attempts);
    } catch (error) {
      // Storage and Redis failures are not delivery failures: the caller retries the whole step.
      if (!isDeliveryFailure(error)) throw error;
      const message = error instanceof Error ? error.message : String(error);
      if (classifyDeliveryFailure(error) === 'permanent') return { status: 'failed', attempts, error: message };
      if (attempts >= this.maxAttempts) return { status: 'failed', attempts, error: `gave up after ${attempts} attempts: ${message}` };
      const delay = retryDelayMs(attempts, this.random(), this.options.retryBaseMs ?? 1000);
      return { status: 'retry', attempts, nextAttemptAt: this.options.clock() + delay, error: message };
    }
  }

  private async currentPrompt(row: DeliveryRow) {
    const stored = row.decisionId === null ? null : await this.options.store.prompt(row.decisionId);
    return stored;
  }

  private async attemptWeb(row: DeliveryRow, attempts: number): Promise<DeliveryResult> {
    const { web, store } = this.options;
    const target = row.target;
    if (target.kind === 'ref') {
      const stored = await this.currentPrompt(row);
      if (stored === null) return { status: 'skipped', attempts, error: 'no such prompt' };
      await web.updatePrompt([target.ref.conversationId], stored.prompt);
      return { status: 'delivered', attempts };
    }
    const webUserId = target.kind === 'conversation' ? target.conversationId : target.channelUserId;
    if (row.operation === 'prompt') {
      const stored = await this.currentPrompt(row);
      if (stored === null || stored.status !== 'pending') return { status: 'skipped', attempts, error: 'the prompt is no longer pending' };
      const ref = webPromptRef(webUserId, stored.decisionId);
      await store.addPromptRef(ref, row.recipientUserId);
      const status = await web.deliverPrompt(webUserId, stored.prompt);
      return { status, attempts, messageRef: ref };
    }
    const status = await web.deliverText(webUserId, row.replyId, row.text);
    return { status, attempts };
  }

  private async attemptPlatform(adapter: ChannelAdapter, row: DeliveryRow, attempts: number): Promise<DeliveryResult> {
    const target = row.target;
    if (target.kind === 'ref') {
      const stored = await this.currentPrompt(row);
      if (stored === null) return { status: 'skipped', attempts, error: 'no such prompt' };
      await adapter.updatePrompt(target.ref, stored.prompt);
      return { status: 'delivered', attempts, messageRef: target.ref };
    }
    const destination: DeliveryTarget = target;
    if (row.operation === 'prompt') {
      const stored = await this.currentPrompt(row);
      // A prompt decided (or expired) while its delivery waited for a retry is not sent any more.
      if (stored === null || stored.status !== 'pending' || stored.deadline <= this.options.clock()) {
        return { status: 'skipped', attempts, error: 'the prompt is no longer pending' };
      }
      const ref: PromptRef = await adapter.sendPrompt(destination, stored.prompt);
      await this.options.store.addPromptRef(ref, row.recipientUserId);
      return { status: 'delivered', attempts, messageRef: ref };
    }
    const ref = await adapter.sendText(destination, row.text);
    return { status: 'delivered', attempts, messageRef: ref };
  }
}

function isDeliveryFailure(error: unknown): boolean {
  return (error as { code?: unknown } | null)?.code === 'SNT_CHANNEL_DELIVERY_FAILED';
}
