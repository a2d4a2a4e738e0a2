// Qdrant adapter of VectorStore, through the official REST client. Point ids are UUIDs derived from
// our string ids (Qdrant accepts only unsigned integers and UUIDs); the original id travels in the
// payload. Connection failures and 5xx answers become SNT_DEPENDENCY_UNAVAILABLE, timeouts SNT_TIMEOUT.
import { QdrantClient } from '@qdrant/js-client-rest';
import { SentinelError } from '../../errors/index.ts';
import { uuidFromName } from '../ids.ts';
import type { Payload, VectorMatch, VectorPoint, VectorQuery, VectorStore } from './vector-store.ts';

const ID_FIELD = '_sentinel_id';

export interface QdrantVectorStoreOptions {
  url: string;
  apiKey?: string;
  timeoutMs?: number;
}

type Filter = { must: Array<{ key: string; match: { value: string | number | boolean } }> };

// Qdrant's JSON parser refuses lone surrogates; strings are stored and matched well-formed.
function wellFormed<T extends string | number | boolean>(value: T): T {
  return (typeof value === 'string' ? value.toWellFormed() : value) as T;
}

function storablePayload(payload: Payload): Payload {
  const out: Payload = {};
  for (const [key, value] of Object.entries(payload)) out[key] = wellFormed(value);
  return out;
}

function toFilter(filter: Payload | undefined): Filter | undefined {
  if (filter === undefined) return undefined;
  return { must: Object.entries(filter).map(([key, value]) => ({ key, match: { value: wellFormed(value) } })) };
}

function statusOf(error: unknown): number | undefined {
  const status = (error as { status?: unknown }).status;
  if (typeof status === 'number') return status;
  const match = /Unexpected Response: (\d{3})/.exec((error as Error).message ?? '');
  return match ? Number(match[1]) : undefined;
}

/** Maps client failures to Sentinel errors; anything else (a 4xx: our bug) passes through. */
export function asQdrantError(error: unknown, operation: string): unknown {
  if (error instanceof SentinelError) return error;
  const name = (error as Error)?.name ?? '';
  const message = (error as Error)?.message ?? String(error);
  if (name === 'QdrantClientTimeoutError') {
    return new SentinelError('SNT_TIMEOUT', `Qdrant did not answer ${operation} in time: ${message}`, { cause: error });
  }
  let cause: unknown = error;
  for (let depth = 0; depth < 4 && cause !== undefined && cause !== null; depth++) {
    const code = (cause as { code?: unknown }).code;
    if (typeof code === 'string' && /^(ECONN|ETIMEDOUT|EHOSTUNREACH|ENETUNREACH|ENOTFOUND|EAI_AGAIN|EPIPE|UND_ERR)/.test(code)) {
      return new SentinelError('SNT_DEPENDENCY_UNAVAILABLE', `Qdrant unavailable (${operation}): ${code}`, { cause: error });
    }
    cause = (cause as { cause?: unknown }).cause;
  }
  const status = statusOf(error);
  if (message === 'fetch failed' || (status !== undefined && status >= 500) || name === 'QdrantClientResourceExhaustedError') {
    return new SentinelError('SNT_DEPENDENCY_UNAVAILABLE', `Qdrant unavailable (${operation}): ${message}`, { cause: error });
  }
  return error;
}

export class QdrantVectorStore implements VectorStore {
  private readonly client: QdrantClient;

  constructor(options: QdrantVectorStoreOptions) {
    this.client = new QdrantClient({
      url: options.url,
      ...(options.apiKey ? { apiKey: options.apiKey } : {}),
      timeout: options.timeoutMs ?? 5000,
      checkCompatibility: false,
    });
  }

  async ensureCollection(collection: string, dimension: number): Promise<void> {
    await this.call('ensureCollection', async () => {
      const { exists } = await this.client.collectionExists(collection);
      if (!exists) {
        try {
          await this.client.createCollection(collection, { vectors: { size: dimension, distance: 'Cosine' } });
        } catch (error) {
          if (statusOf(error) !== 409) throw error; // created concurrently by another replica
        }
      }
      const info = await this.client.getCollection(collection);
      const vectors = info.config.params.vectors as { size?: number; distance?: string } | undefined;
      if (vectors?.size !== dimension || vectors.distance !== 'Cosine') {
        throw new RangeError(`Qdrant collection ${collection} has vectors ${JSON.stringify(vectors)}, expected size ${dimension} with Cosine distance`);
      }
    });
  }

  async upsert(collection: string, points: readonly VectorPoint[]): Promise<void> {
    if (points.length === 0) return;
    await this.call('upsert', () => this.client.upsert(collection, {
      wait: true,
      points: points.map((p) => ({ id: uuidFromName(p.id), vector: [...p.vector], payload: { ...storablePayload(p.payload), [ID_FIELD]: wellFormed(p.id) } })),
    }));
  }

  async search(collection: string, query: VectorQuery): Promise<VectorMatch[]> {
    const response = await this.call('search', () => this.client.query(collection, this.request(query)));
    return response.points.map(toMatch);
  }

  async searchMany(collection: string, queries: readonly VectorQuery[]): Promise<VectorMatch[][]> {
    if (queries.length === 0) return [];
    const responses = await this.call('searchMany', () => this.client.queryBatch(collection, { searches: queries.map((q) => this.request(q)) }));
    return responses.map((r) => r.points.map(toMatch));
  }

  private request(query: VectorQuery) {
    const filter = toFilter(query.filter);
    return {
      query: [...query.vector],
      limit: query.limit,
      with_payload: true,
      ...(filter === undefined ? {} : { filter }),
      ...(query.minScore === undefined ? {} : { score_threshold: query.minScore }),
    };
  }

  private async call<T>(operation: string, work: () => Promise<T>): Promise<T> {
    try {
      return await work();
    } catch (error) {
      throw asQdrantError(error, operation);
    }
  }
}

function toMatch(point: { id: string | number; score: number; payload?: Record<string, unknown> | null }): VectorMatch {
  const payload: Payload = {};
  let id = String(point.id);
  for (const [key, value] of Object.entries(point.payload ?? {})) {
    if (key === ID_FIELD) id = String(value);
    else if (typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean') payload[key] = value;
  }
  return { id, score: point.score, payload };
}
