// The port for semantic memory: a store of vectors with payloads and nearest-neighbour search by
// cosine similarity. Adapters: EmbeddedVectorStore (in process, the default) and QdrantVectorStore.

export type PayloadValue = string | number | boolean;
export type Payload = Record<string, PayloadValue>;

export interface VectorPoint {
  /** Any string; adapters map it to what their backend accepts. */
  id: string;
  vector: readonly number[];
  payload: Payload;
}

export interface VectorQuery {
  vector: readonly number[];
  limit: number;
  /** Only points whose payload has each of these values. */
  filter?: Payload;
  /** Only matches with at least this similarity. */
  minScore?: number;
}

export interface VectorMatch {
  id: string;
  /** Cosine similarity, -1..1. */
  score: number;
  payload: Payload;
}

export interface VectorStore {
  /** Creates the collection if missing; fails if it exists with another dimension. Idempotent. */
  ensureCollection(collection: string, dimension: number): Promise<void>;
  /** Inserts or replaces points by id. Idempotent. */
  upsert(collection: string, points: readonly VectorPoint[]): Promise<void>;
  /** Best matches first, ties by id. */
  search(collection: string, query: VectorQuery): Promise<VectorMatch[]>;
  /** One result list per query, in order; one round trip where the backend allows. */
  searchMany(collection: string, queries: readonly VectorQuery[]): Promise<VectorMatch[][]>;
}
