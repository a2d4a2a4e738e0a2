// Public API of the policy engine ("Aureus OS") for the consumer, the HTTP API and the replay tool.
export { decide, tierOf, type DecideOptions } from './decide.ts';
export { decideBatch, type BatchItem, type DecideBatchOptions } from './batch.ts';
export { replayDecision, type ReplayResult } from './replay.ts';
export { parseRuleSet, compileRuleSet, type RulesProblem } from './ruleset.ts';
export { loadRuleSet } from './load.ts';
export { deriveDecisionId } from './ids.ts';
export {
  emptyContext, snapshotFor, parseSnapshot, intentFromDecision, applyDecision, counterpartyOf, utcDay,
  type ContextSnapshot, type Counterparty,
} from './context.ts';
export { FIELDS } from './fields.ts';
export type { PolicyContext, CompiledRuleSet, RuleSetDocument } from './types.ts';
export type { ContextStore, LoadedContext, RecordResult, HistoryStore, CounterStore, HistoryQuery } from './store/types.ts';
export { PolicyContextStore } from './store/context-store.ts';
export { createPolicyContextStore, createInMemoryContextStore, createVectorStore } from './store/factory.ts';
export { PostgresHistoryStore } from './store/pg-history.ts';
export { RedisCounterStore } from './store/redis-counters.ts';
export { InMemoryHistoryStore, InMemoryCounterStore } from './store/memory-stores.ts';
export { HashingEmbedder, cosineSimilarity, type Embedder } from './memory/embedder.ts';
export type { VectorStore, VectorPoint, VectorQuery, VectorMatch } from './memory/vector-store.ts';
export { EmbeddedVectorStore } from './memory/embedded-store.ts';
export { QdrantVectorStore } from './memory/qdrant-store.ts';
export { SemanticMemory, describeAction } from './memory/semantic-memory.ts';
