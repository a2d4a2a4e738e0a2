// Ports of the policy memory. A ContextStore loads, for a batch of intents, the context each decision
// reads, and records decisions once emitted. It is composed of three adapters, one per system:
// history (PostgreSQL), hot counters (Redis) and semantic memory (a VectorStore).
import type { Decision, EpochMillis, Intent } from '../../domain/types.ts';
import type { PolicyContext } from '../types.ts';

export interface HistoryFacts {
  counterpartyFirstSeenAt: EpochMillis | null;
  userFirstSeenAt: EpochMillis | null;
  userDecisionsTotal: number;
  /** The decision already recorded for this intent id (a redelivery), or null. */
  previous: Decision | null;
}

export interface HistoryQuery {
  limit?: number;
  /** Only decisions at or after this time. */
  since?: EpochMillis;
  /** Only decisions before this time. */
  before?: EpochMillis;
}

export interface HistoryStore {
  /** One query for the whole batch; results in the order of `intents`. */
  loadMany(intents: readonly Intent[]): Promise<HistoryFacts[]>;
  /** Records decisions; a decision id already recorded changes nothing. Returns how many were new. */
  record(decisions: readonly Decision[]): Promise<number>;
  findByIntent(intentId: string): Promise<Decision[]>;
  /** Newest first. */
  findByUser(userId: string, query?: HistoryQuery): Promise<Decision[]>;
  /** Decisions in which `ruleId` fired, newest first. */
  findByRule(ruleId: string, query?: HistoryQuery): Promise<Decision[]>;
}

export interface CounterFacts {
  transferredTodayMinor: number;
  transfersToday: number;
  actionsLast10Min: number;
  actionsLastHour: number;
  denialsLast24h: number;
}

export interface CounterStore {
  /** One round trip for the whole batch; results in the order of `intents`. */
  loadMany(intents: readonly Intent[], now: EpochMillis): Promise<CounterFacts[]>;
  /** Atomic per decision and idempotent by decision id. Returns how many were new. */
  record(decisions: readonly Decision[]): Promise<number>;
}

export interface LoadedContext {
  context: PolicyContext;
  /**
   * The decision already recorded for this intent, when Kafka redelivered it: emit that one again
   * instead of deciding anew (the counters already include it).
   */
  previous: Decision | null;
}

export interface RecordResult {
  /** Decisions newly written to history / counted in the counters (0 on a repeat). */
  history: number;
  counters: number;
}

export interface ContextStore {
  loadMany(intents: readonly Intent[], now: EpochMillis): Promise<LoadedContext[]>;
  load(intent: Intent, now: EpochMillis): Promise<LoadedContext>;
  /** After the decisions are emitted. Idempotent by decision id; safe to retry after a failure. */
  recordMany(decisions: readonly Decision[]): Promise<RecordResult>;
  record(decision: Decision): Promise<RecordResult>;
}
