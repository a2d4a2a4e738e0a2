// In-process HistoryStore and CounterStore with the same semantics as the PostgreSQL and Redis
// adapters (the shared contract tests run against both), for development without infrastructure and
// for tests of the layers above. State lives in this process only.
import type { Decision, EpochMillis, Intent } from '../../domain/types.ts';
import { commitsAction, counterpartyOf, utcDay } from '../context.ts';
import type { CounterFacts, CounterStore, HistoryFacts, HistoryQuery, HistoryStore } from './types.ts';

const MINUTE_MS = 60_000;
const HOUR_MS = 60 * MINUTE_MS;
const DAY_MS = 24 * HOUR_MS;

function partyKey(userId: string, kind: string, name: string): string {
  return `${userId}\u0000${kind}\u0000${name}`;
}

export class InMemoryHistoryStore implements HistoryStore {
  private readonly decisions = new Map<string, Decision>();
  private readonly users = new Map<string, { firstSeenAt: EpochMillis; decisionsTotal: number }>();
  private readonly counterparties = new Map<string, EpochMillis>();

  async loadMany(intents: readonly Intent[]): Promise<HistoryFacts[]> {
    return intents.map((intent) => {
      const party = counterpartyOf(intent.action);
      const user = this.users.get(intent.requester.userId);
      const previous = this.sorted([...this.decisions.values()].filter((d) => d.intentId === intent.intentId), 'asc')[0] ?? null;
      return {
        counterpartyFirstSeenAt: party === null ? null : this.counterparties.get(partyKey(intent.requester.userId, party.kind, party.name)) ?? null,
        userFirstSeenAt: user?.firstSeenAt ?? null,
        userDecisionsTotal: user?.decisionsTotal ?? 0,
        previous: previous === null ? null : structuredClone(previous),
      };
    });
  }

  async record(decisions: readonly Decision[]): Promise<number> {
    let recorded = 0;
    for (const d of decisions) {
      if (this.decisions.has(d.decisionId)) continue;
      this.decisions.set(d.decisionId, structuredClone(d));
      recorded++;
      const userId = d.requester.userId;
      const user = this.users.get(userId);
      if (user === undefined) this.users.set(userId, { firstSeenAt: d.decidedAt, decisionsTotal: 1 });
      else {
        user.firstSeenAt = Math.min(user.firstSeenAt, d.decidedAt);
        user.decisionsTotal += 1;
      }
      const party = counterpartyOf(d.action);
      if (party !== null && commitsAction(d)) {
        const key = partyKey(userId, party.kind, party.name);
        const seen = this.counterparties.get(key);
        if (seen === undefined || d.decidedAt < seen) this.counterparties.set(key, d.decidedAt);
      }
    }
    return recorded;
  }

  async findByIntent(intentId: string): Promise<Decision[]> {
    return this.sorted([...this.decisions.values()].filter((d) => d.intentId === intentId), 'asc').map((d) => structuredClone(d));
  }

  async findByUser(userId: string, query: HistoryQuery = {}): Promise<Decision[]> {
    return this.find((d) => d.requester.userId === userId, query);
  }

  async findByRule(ruleId: string, query: HistoryQuery = {}): Promise<Decision[]> {
    return this.find((d) => d.firedRules.includes(ruleId), query);
  }

  private find(match: (d: Decision) => boolean, query: HistoryQuery): Decision[] {
    const limit = Math.min(Math.max(query.limit ?? 100, 1), 1000);
    const found = [...this.decisions.values()].filter((d) => match(d)
      && (query.since === undefined || d.decidedAt >= query.since)
      && (query.before === undefined || d.decidedAt < query.before));
    return this.sorted(found, 'desc').slice(0, limit).map((d) => structuredClone(d));
  }

  private sorted(decisions: Decision[], order: 'asc' | 'desc'): Decision[] {
    const sign = order === 'asc' ? 1 : -1;
    return decisions.sort((a, b) => sign * (a.decidedAt - b.decidedAt || (a.decisionId < b.decisionId ? -1 : a.decisionId > b.decisionId ? 1 : 0)));
  }
}

export class InMemoryCounterStore implements CounterStore {
  private readonly counted = new Set<string>();
  private readonly daily = new Map<string, { minor: number; count: number }>();
  private readonly actions = new Map<string, Map<string, EpochMillis>>();
  private readonly denials = new Map<string, Map<string, EpochMillis>>();

  async loadMany(intents: readonly Intent[], now: EpochMillis): Promise<CounterFacts[]> {
    const day = utcDay(now);
    return intents.map((intent) => {
      const userId = intent.requester.userId;
      const totals = intent.action.type === 'transfer' ? this.daily.get(`${userId}\u0000${day}\u0000${intent.action.currency}`) : undefined;
      return {
        transferredTodayMinor: totals?.minor ?? 0,
        transfersToday: totals?.count ?? 0,
        actionsLast10Min: countSince(this.actions.get(userId), now - 10 * MINUTE_MS),
        actionsLastHour: countSince(this.actions.get(userId), now - HOUR_MS),
        denialsLast24h: countSince(this.denials.get(userId), now - DAY_MS),
      };
    });
  }

  async record(decisions: readonly Decision[]): Promise<number> {
    let recorded = 0;
    for (const d of decisions) {
      const userId = d.requester.userId;
      const marker = `${userId}\u0000${d.decisionId}`;
      if (this.counted.has(marker)) continue;
      this.counted.add(marker);
      recorded++;
      if (d.action.type === 'transfer' && commitsAction(d)) {
        const key = `${userId}\u0000${utcDay(d.decidedAt)}\u0000${d.action.currency}`;
        const totals = this.daily.get(key) ?? { minor: 0, count: 0 };
        totals.minor += d.action.amountMinor;
        totals.count += 1;
        this.daily.set(key, totals);
      }
      addTrimmed(this.actions, userId, d.decisionId, d.decidedAt, d.decidedAt - HOUR_MS);
      if (d.outcome === 'deny') addTrimmed(this.denials, userId, d.decisionId, d.decidedAt, d.decidedAt - DAY_MS);
    }
    return recorded;
  }
}

function countSince(times: Map<string, EpochMillis> | undefined, after: EpochMillis): number {
  if (times === undefined) return 0;
  let n = 0;
  for (const at of times.values()) if (at > after) n++;
  return n;
}

function addTrimmed(index: Map<string, Map<string, EpochMillis>>, userId: string, id: string, at: EpochMillis, keepFrom: EpochMillis): void {
  let times = index.get(userId);
  if (times === undefined) index.set(userId, (times = new Map()));
  times.set(id, at);
  for (const [key, time] of times) if (time < keepFrom) times.delete(key);
}
