// Background work every replica runs, coordinated through PostgreSQL row locks:
//   - approval deadlines: each prompt still pending at its deadline gets exactly one "expired"
//     HumanApprovalResponded (rows taken FOR UPDATE SKIP LOCKED and marked in the same
//     transaction; the event id is derived from the decision id, so even a crash between the
//     broker write and the commit only repeats the same event);
//   - delivery retries: deliveries that failed transiently are leased and attempted again.
import client from 'prom-client';
import { HumanApprovalResponded } from '../../src/contracts/events.ts';
import { deterministicUuid } from '../../src/kafka/ids.ts';
import type { EventPublisher } from '../../src/kafka/publisher.ts';
import type { Logger } from '../../src/observability/log.ts';
import type { Registry } from '../../src/observability/metrics.ts';
import { childSpan, newTrace } from '../../src/observability/trace.ts';
import type { Deliverer } from './deliveries.ts';
import { expiredResponseOf } from './model.ts';
import type { ChannelsStore } from './store.ts';

export interface SchedulerOptions {
  store: ChannelsStore;
  publisher: EventPublisher;
  deliverer: Deliverer;
  log: Logger;
  metrics: Registry;
  clock: () => number;
  /** How often to look for due work. Default 1 s. */
  intervalMs?: number;
  /** How long a claimed retry is reserved for the replica that claimed it. Default 60 s. */
  retryLeaseMs?: number;
}

export class Scheduler {
  private readonly o: SchedulerOptions;
  private readonly expired: client.Counter;
  private readonly failures: client.Counter<'task'>;
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<void> | null = null;
  private stopped = false;

  constructor(options: SchedulerOptions) {
    this.o = options;
    this.expired = new client.Counter({ name: 'sentinel_channels_approvals_expired_total', help: 'Approval prompts that reached their deadline unanswered', registers: [options.metrics] });
    this.failures = new client.Counter({ name: 'sentinel_channels_scheduler_failures_total', help: 'Scheduler rounds that failed (retried next round)', labelNames: ['task'], registers: [options.metrics] });
    const store = options.store;
    new client.Gauge({
      name: 'sentinel_channels_pending_approvals', help: 'Approval prompts waiting for a human', registers: [options.metrics],
      async collect() {
        try {
          this.set(await store.pendingApprovals());
        } catch {
          // PostgreSQL unreachable: /ready says so
        }
      },
    });
  }

  start(): void {
    const tick = () => {
      if (this.stopped) return;
      this.running = this.runOnce().finally(() => {
        this.running = null;
        if (!this.stopped) this.timer = setTimeout(tick, this.o.intervalMs ?? 1000);
      });
    };
    this.timer = setTimeout(tick, 0);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    await this.running;
  }

  /** One round: expire what is due, then retry what is due. Failures are logged and retried next round. */
  async runOnce(): Promise<void> {
    try {
      await this.expireDue();
    } catch (error) {
      this.failures.inc({ task: 'expiry' });
      this.o.log.warn({ err: error }, 'approval expiry round failed; retrying');
    }
    try {
      const due = await this.o.store.claimDueRetries(this.o.clock(), 20, this.o.retryLeaseMs ?? 60_000);
      if (due.length > 0) await this.o.deliverer.run(due);
    } catch (error) {
      this.failures.inc({ task: 'retry' });
      this.o.log.warn({ err: error }, 'delivery retry round failed; retrying');
    }
  }

  async expireDue(): Promise<number> {
    let total = 0;
    for (;;) {
      const done = await this.o.store.expireDue(this.o.clock(), 50, async (prompts) => {
        await Promise.all(prompts.map((stored) => {
          const response = expiredResponseOf(stored);
          const trace = stored.traceId !== null && stored.spanId !== null
            ? childSpan({ traceId: stored.traceId, spanId: stored.spanId, parentSpanId: null, sampled: true })
            : newTrace();
          return this.o.publisher.publish(HumanApprovalResponded, response, {
            key: response.decisionId, trace, eventId: deterministicUuid('event', response.responseId),
          });
        }));
      });
      for (const p of done) this.o.log.info({ decisionId: p.decisionId, intentId: p.intentId, deadline: new Date(p.deadline).toISOString(), traceId: p.traceId }, 'approval expired unanswered');
      this.expired.inc(done.length);
      total += done.length;
      if (done.length < 50) return total;
    }
  }
}
