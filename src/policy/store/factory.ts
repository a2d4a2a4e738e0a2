// Wiring of the policy memory from configuration: PostgreSQL history, Redis counters, and the
// semantic memory in the vector store chosen by VECTOR_DB_TYPE (embedded by default, or Qdrant).
import type pg from 'pg';
import type { Redis } from 'ioredis';
import type { Config } from '../../config/index.ts';
import { EmbeddedVectorStore } from '../memory/embedded-store.ts';
import { HashingEmbedder, type Embedder } from '../memory/embedder.ts';
import { QdrantVectorStore } from '../memory/qdrant-store.ts';
import { SemanticMemory } from '../memory/semantic-memory.ts';
import type { VectorStore } from '../memory/vector-store.ts';
import { PolicyContextStore } from './context-store.ts';
import { InMemoryCounterStore, InMemoryHistoryStore } from './memory-stores.ts';
import { PostgresHistoryStore } from './pg-history.ts';
import { RedisCounterStore } from './redis-counters.ts';

export function createVectorStore(settings: Config['policy']): VectorStore {
  return settings.vectorStore === 'qdrant' ? new QdrantVectorStore({ url: settings.qdrantUrl }) : new EmbeddedVectorStore();
}

export interface PolicyContextStoreDependencies {
  pool: pg.Pool;
  redis: Redis;
  policy: Config['policy'];
  keyPrefix?: string;
  embedder?: Embedder;
  vectorStore?: VectorStore;
}

export function createPolicyContextStore(deps: PolicyContextStoreDependencies): PolicyContextStore {
  return new PolicyContextStore({
    history: new PostgresHistoryStore(deps.pool),
    counters: new RedisCounterStore(deps.redis, deps.keyPrefix === undefined ? {} : { keyPrefix: deps.keyPrefix }),
    memory: new SemanticMemory(deps.vectorStore ?? createVectorStore(deps.policy), deps.embedder ?? new HashingEmbedder()),
  });
}

/** Everything in this process: for development without infrastructure, and tests of the layers above. */
export function createInMemoryContextStore(options: { embedder?: Embedder } = {}): PolicyContextStore {
  return new PolicyContextStore({
    history: new InMemoryHistoryStore(),
    counters: new InMemoryCounterStore(),
    memory: new SemanticMemory(new EmbeddedVectorStore(), options.embedder ?? new HashingEmbedder()),
  });
}
