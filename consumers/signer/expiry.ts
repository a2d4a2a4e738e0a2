// The deadline timer: pending human requests whose deadline has passed get an `expired` answer on
// sentinel.human-approvals (key = decision id), which the signer consumer then applies like any
// other answer (the request is closed, the requester and the approvers are told). Every signer
// instance may run it: the answer's ids are derived from the decision id, so repeats are duplicates
// the consumer drops.
import { HumanApprovalResponded } from '../../src/contracts/events.ts';
import type { HumanApprovalResponse } from '../../src/domain/types.ts';
import { deterministicUuid } from '../../src/kafka/ids.ts';
import type { EventPublisher } from '../../src/kafka/publisher.ts';
import type { Logger } from '../../src/observability/log.ts';
import { newTrace } from '../../src/observability/trace.ts';
import { DEADLINE_TIMER } from './plan.ts';
import type { PendingDeadline, SignerStore } from './store.ts';

/** The `expired` answer for an overdue request (pure). */
export function expiryResponse(pending: PendingDeadline, now: number): HumanApprovalResponse {
  return {
    responseId: deterministicUuid(pending.decisionId, 'deadline-expired'),
    decisionId: pending.decisionId,
    intentId: pending.intentId,
    approver: DEADLINE_TIMER,
    verdict: 'expired',
    evidence: {
      platform: DEADLINE_TIMER.channel,
      authenticatedBy: 'signer-deadline-timer',
      platformUserId: DEADLINE_TIMER.channelUserId,
      platformMessageId: null,
      callbackDigest: null,
      receivedAt: now,
    },
    respondedAt: now,
  };
}

export interface ExpirySweeperOptions {
  store: Pick<SignerStore, 'overdue'>;
  publisher: EventPublisher;
  clock: () => number;
  intervalMs: number;
  logger: Logger;
}

export function startExpirySweeper(options: ExpirySweeperOptions): { sweep(): Promise<number>; stop(): void } {
  /** Decisions this instance already announced, so that one is not re-published every tick. */
  const announced = new Map<string, number>();
  let running: Promise<number> | null = null;
  const sweep = (): Promise<number> => {
    running ??= (async () => {
      const now = options.clock();
      for (const [id, at] of announced) if (now - at > 60_000) announced.delete(id);
      const overdue = (await options.store.overdue(now, 500)).filter((p) => !announced.has(p.decisionId));
      for (const pending of overdue) {
        const response = expiryResponse(pending, now);
        // A repeat (another instance, a later tick) carries the same response id: the consumer drops it.
        await options.publisher.publish(HumanApprovalResponded, response, { key: pending.decisionId, trace: newTrace() });
        announced.set(pending.decisionId, now);
      }
      if (overdue.length > 0) options.logger.info({ count: overdue.length }, 'approval deadlines passed; expiry published');
      return overdue.length;
    })().finally(() => { running = null; });
    return running;
  };
  const timer = setInterval(() => {
    void sweep().catch((error: unknown) => options.logger.warn({ err: error }, 'deadline sweep failed; retrying next tick'));
  }, options.intervalMs);
  timer.unref();
  return { sweep, stop: () => clearInterval(timer) };
}
