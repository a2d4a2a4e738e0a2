// The ContextStore contract against the real thing: history in PostgreSQL, counters in Redis, and
// semantic memory in the embedded store and in Qdrant (the fake server, through the real client).
import { after, before } from 'node:test';
import { HashingEmbedder } from '../../../src/policy/memory/embedder.ts';
import { EmbeddedVectorStore } from '../../../src/policy/memory/embedded-store.ts';
import { QdrantVectorStore } from '../../../src/policy/memory/qdrant-store.ts';
import { SemanticMemory } from '../../../src/policy/memory/semantic-memory.ts';
import { PolicyContextStore } from '../../../src/policy/store/context-store.ts';
import { PostgresHistoryStore } from '../../../src/policy/store/pg-history.ts';
import { RedisCounterStore } from '../../../src/policy/store/redis-counters.ts';
import { contextStoreContract } from '../../support/context-store-contract.ts';
import { startFakeQdrant, type FakeQdrant } from '../../support/fake-qdrant.ts';
import { policyPool, policyRedis } from '../../support/policy-infra.ts';
import type { VectorStore } from '../../../src/policy/memory/vector-store.ts';
import type { Pool } from '../../../src/db/pg.ts';
import type { Redis } from 'ioredis';

let pool: Pool;
let redis: Redis;
let keyPrefix: string;
let qdrant: FakeQdrant;

// One pool and Redis key prefix for the file (removed after it); each contract test uses fresh user ids.
const cleanups: Array<() => unknown> = [];
const fileScope = { after: (fn: () => unknown) => { cleanups.push(fn); } };
before(async () => {
  pool = await policyPool(fileScope);
  ({ redis, keyPrefix } = await policyRedis(fileScope));
  qdrant = await startFakeQdrant();
  fileScope.after(() => qdrant.stop());
});
after(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup();
});

function storeWith(vectors: () => VectorStore) {
  return () => new PolicyContextStore({
    history: new PostgresHistoryStore(pool),
    counters: new RedisCounterStore(redis, { keyPrefix }),
    memory: new SemanticMemory(vectors(), new HashingEmbedder()),
  });
}

const embedded = new EmbeddedVectorStore();
contextStoreContract('PostgreSQL + Redis + embedded vectors', storeWith(() => embedded));
contextStoreContract('PostgreSQL + Redis + Qdrant', storeWith(() => new QdrantVectorStore({ url: qdrant.url })));
