// In-process vector store: the default semantic memory, needing no server. Vectors are normalised on
// insert (as Qdrant does for cosine collections), so a search is a dot product. Points are grouped by
// one payload field (the user id by default) so that a search filtered on it scans only that group.
// Memory is bounded: past maxPoints per collection, the oldest inserted points are evicted.
import type { Payload, VectorMatch, VectorPoint, VectorQuery, VectorStore } from './vector-store.ts';

export interface EmbeddedVectorStoreOptions {
  maxPointsPerCollection?: number;
  partitionKey?: string;
}

interface StoredPoint { id: string; unit: Float64Array; payload: Payload; partition: string }

interface Collection {
  dimension: number;
  points: Map<string, StoredPoint>;
  partitions: Map<string, Map<string, StoredPoint>>;
}

const NO_PARTITION = '\u0000';

export class EmbeddedVectorStore implements VectorStore {
  private readonly collections = new Map<string, Collection>();
  private readonly maxPoints: number;
  private readonly partitionKey: string;

  constructor(options: EmbeddedVectorStoreOptions = {}) {
    this.maxPoints = options.maxPointsPerCollection ?? 200_000;
    this.partitionKey = options.partitionKey ?? 'userId';
  }

  async ensureCollection(collection: string, dimension: number): Promise<void> {
    const existing = this.collections.get(collection);
    if (existing !== undefined) {
      if (existing.dimension !== dimension) throw new RangeError(`collection ${collection} has dimension ${existing.dimension}, not ${dimension}`);
      return;
    }
    this.collections.set(collection, { dimension, points: new Map(), partitions: new Map() });
  }

  async upsert(collection: string, points: readonly VectorPoint[]): Promise<void> {
    const c = this.get(collection);
    for (const point of points) {
      this.checkDimension(c, point.vector, collection);
      this.remove(c, point.id);
      const value = point.payload[this.partitionKey];
      const stored: StoredPoint = {
        id: point.id,
        unit: unitVector(point.vector),
        payload: { ...point.payload },
        partition: value === undefined ? NO_PARTITION : String(value),
      };
      c.points.set(point.id, stored);
      let partition = c.partitions.get(stored.partition);
      if (partition === undefined) c.partitions.set(stored.partition, (partition = new Map()));
      partition.set(point.id, stored);
    }
    while (c.points.size > this.maxPoints) {
      const oldest = c.points.keys().next().value as string;
      this.remove(c, oldest);
    }
  }

  async search(collection: string, query: VectorQuery): Promise<VectorMatch[]> {
    const c = this.get(collection);
    this.checkDimension(c, query.vector, collection);
    const unit = unitVector(query.vector);
    const filter = query.filter;
    const wanted = filter?.[this.partitionKey];
    const candidates = wanted === undefined ? c.points : c.partitions.get(String(wanted));
    if (candidates === undefined) return [];
    const minScore = query.minScore ?? -Infinity;
    const matches: VectorMatch[] = [];
    for (const point of candidates.values()) {
      if (filter !== undefined && !payloadMatches(point.payload, filter)) continue;
      const score = dot(unit, point.unit);
      if (score >= minScore) matches.push({ id: point.id, score, payload: { ...point.payload } });
    }
    matches.sort((a, b) => b.score - a.score || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
    return matches.slice(0, query.limit);
  }

  async searchMany(collection: string, queries: readonly VectorQuery[]): Promise<VectorMatch[][]> {
    const results: VectorMatch[][] = [];
    for (const query of queries) results.push(await this.search(collection, query));
    return results;
  }

  /** Number of points in a collection (0 when missing). */
  size(collection: string): number {
    return this.collections.get(collection)?.points.size ?? 0;
  }

  private get(collection: string): Collection {
    const c = this.collections.get(collection);
    if (c === undefined) throw new RangeError(`collection ${collection} does not exist; call ensureCollection first`);
    return c;
  }

  private checkDimension(c: Collection, vector: readonly number[], collection: string): void {
    if (vector.length !== c.dimension) throw new RangeError(`vector of dimension ${vector.length} for collection ${collection} of dimension ${c.dimension}`);
  }

  private remove(c: Collection, id: string): void {
    const existing = c.points.get(id);
    if (existing === undefined) return;
    c.points.delete(id);
    const partition = c.partitions.get(existing.partition);
    partition?.delete(id);
    if (partition !== undefined && partition.size === 0) c.partitions.delete(existing.partition);
  }
}

function unitVector(vector: readonly number[]): Float64Array {
  let norm = 0;
  for (const x of vector) norm += x * x;
  norm = Math.sqrt(norm);
  const unit = new Float64Array(vector.length);
  if (norm === 0) return unit;
  for (let i = 0; i < vector.length; i++) unit[i] = vector[i]! / norm;
  return unit;
}

function dot(a: Float64Array, b: Float64Array): number {
  let sum = 0;
  for (let i = 0; i < a.length; i++) sum += a[i]! * b[i]!;
  return sum;
}

function payloadMatches(payload: Payload, filter: Payload): boolean {
  for (const key in filter) if (payload[key] !== filter[key]) return false;
  return true;
}
