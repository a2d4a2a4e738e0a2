// Semantic memory of past intents: each recorded decision is embedded (from a text description of its
// action) and stored with its user and outcome; a new intent is compared with the user's past denied
// intents. The nearest similarity becomes context.nearestDeniedSimilarity.
import type { Action, Decision, Intent } from '../../domain/types.ts';
import type { Embedder } from './embedder.ts';
import type { VectorStore } from './vector-store.ts';

export interface MemoryRecall {
  nearestDeniedSimilarity: number;
  nearestDeniedIntentId: string | null;
}

export interface SemanticMemoryOptions {
  /** Default "policy_intents_<embedder name>" so vectors from different embedders never mix. */
  collection?: string;
}

/** The text that represents an action in memory: its type and salient fields. */
export function describeAction(action: Action): string {
  switch (action.type) {
    case 'transfer': return `transfer ${action.currency} ${action.amountMinor} to ${action.payee} ${action.memo ?? ''}`;
    case 'message_send': return `message ${action.medium} to ${action.recipient} ${action.subject ?? ''} ${action.body}`;
    case 'command_run': return `command on ${action.host}: ${action.command}`;
    case 'tool_call': return `tool ${action.tool} ${action.argumentsJson}`;
    default: return `action ${(action as { type: string }).type}`;
  }
}

/** Similarities are kept to 4 decimals: stable in snapshots, and equal across float32/float64 backends. */
function roundSimilarity(score: number): number {
  return score <= 0 ? 0 : score >= 1 ? 1 : Math.round(score * 10_000) / 10_000;
}

export class SemanticMemory {
  readonly collection: string;
  private readonly store: VectorStore;
  private readonly embedder: Embedder;
  private ready: Promise<void> | null = null;

  constructor(store: VectorStore, embedder: Embedder, options: SemanticMemoryOptions = {}) {
    this.store = store;
    this.embedder = embedder;
    this.collection = options.collection ?? `policy_intents_${embedder.name.replace(/[^A-Za-z0-9_]/g, '_')}`;
  }

  /** Creates the collection once; later calls reuse the result (and retry after a failure). */
  init(): Promise<void> {
    if (this.ready === null) {
      this.ready = this.store.ensureCollection(this.collection, this.embedder.dimension).catch((error: unknown) => {
        this.ready = null;
        throw error;
      });
    }
    return this.ready;
  }

  async recallMany(intents: readonly Intent[]): Promise<MemoryRecall[]> {
    if (intents.length === 0) return [];
    await this.init();
    const results = await this.store.searchMany(this.collection, intents.map((intent) => ({
      vector: this.embedder.embed(describeAction(intent.action)),
      limit: 1,
      filter: { userId: intent.requester.userId, outcome: 'deny' },
    })));
    return results.map((matches) => {
      const best = matches[0];
      return best === undefined
        ? { nearestDeniedSimilarity: 0, nearestDeniedIntentId: null }
        : { nearestDeniedSimilarity: roundSimilarity(best.score), nearestDeniedIntentId: String(best.payload.intentId ?? best.id) };
    });
  }

  /** Stores the decision's intent; idempotent by decision id. */
  async remember(decisions: readonly Decision[]): Promise<void> {
    if (decisions.length === 0) return;
    await this.init();
    await this.store.upsert(this.collection, decisions.map((d) => ({
      id: d.decisionId,
      vector: this.embedder.embed(describeAction(d.action)),
      payload: {
        userId: d.requester.userId,
        outcome: d.outcome,
        intentId: d.intentId,
        decisionId: d.decisionId,
        actionType: d.action.type,
        riskTier: d.risk.tier,
        decidedAt: d.decidedAt,
      },
    })));
  }
}
