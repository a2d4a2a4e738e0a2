// The ContextStore the consumer and the HTTP API use: history, counters and semantic memory loaded in
// parallel for a batch, and recorded in the order history → counters → memory (each idempotent, so a
// retry after a partial failure completes the rest without counting anything twice).
import type { Decision, EpochMillis, Intent } from '../../domain/types.ts';
import type { SemanticMemory } from '../memory/semantic-memory.ts';
import type { PolicyContext } from '../types.ts';
import type { ContextStore, CounterStore, HistoryStore, LoadedContext, RecordResult } from './types.ts';

export interface PolicyContextStoreParts {
  history: HistoryStore;
  counters: CounterStore;
  memory: SemanticMemory;
}

export class PolicyContextStore implements ContextStore {
  readonly history: HistoryStore;
  readonly counters: CounterStore;
  readonly memory: SemanticMemory;

  constructor(parts: PolicyContextStoreParts) {
    this.history = parts.history;
    this.counters = parts.counters;
    this.memory = parts.memory;
  }

  async loadMany(intents: readonly Intent[], now: EpochMillis): Promise<LoadedContext[]> {
    if (intents.length === 0) return [];
    const [history, counters, recalls] = await Promise.all([
      this.history.loadMany(intents),
      this.counters.loadMany(intents, now),
      this.memory.recallMany(intents),
    ]);
    return intents.map((_, i) => {
      const h = history[i]!;
      const c = counters[i]!;
      const m = recalls[i]!;
      const context: PolicyContext = {
        transferredTodayMinor: c.transferredTodayMinor,
        transfersToday: c.transfersToday,
        actionsLast10Min: c.actionsLast10Min,
        actionsLastHour: c.actionsLastHour,
        denialsLast24h: c.denialsLast24h,
        counterpartyFirstSeenAt: h.counterpartyFirstSeenAt,
        userFirstSeenAt: h.userFirstSeenAt,
        userDecisionsTotal: h.userDecisionsTotal,
        nearestDeniedSimilarity: m.nearestDeniedSimilarity,
        nearestDeniedIntentId: m.nearestDeniedIntentId,
      };
      return { context, previous: h.previous };
    });
  }

  async load(intent: Intent, now: EpochMillis): Promise<LoadedContext> {
    return (await this.loadMany([intent], now))[0]!;
  }

  async recordMany(decisions: readonly Decision[]): Promise<RecordResult> {
    if (decisions.length === 0) return { history: 0, counters: 0 };
    const history = await this.history.record(decisions);
    const counters = await this.counters.record(decisions);
    await this.memory.remember(decisions);
    return { history, counters };
  }

  record(decision: Decision): Promise<RecordResult> {
    return this.recordMany([decision]);
  }
}
