// A fake Qdrant REST server: enough of the HTTP API that @qdrant/js-client-rest 1.19 works against it
// (root, collection exists/create/get/delete, points upsert/retrieve, query and query/batch), with
// real cosine similarity (vectors normalised on insert, as Qdrant does for Cosine collections) and
// `must`/`must_not` filters of `{key, match: {value}}` conditions. It can be told to fail, to test
// how adapters handle an unavailable server.
import http from 'node:http';
import type { AddressInfo } from 'node:net';

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
type PointId = string | number;

interface StoredPoint { id: PointId; vector: number[]; payload: Record<string, Json>; version: number }
interface Collection { size: number; distance: string; points: Map<string, StoredPoint>; version: number }
interface MatchCondition { key: string; match: { value: Json } }
interface Filter { must?: MatchCondition[]; must_not?: MatchCondition[] }

export interface RecordedRequest { method: string; path: string; query: string; body: unknown }

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

class HttpError extends Error {
  readonly status: number;
  constructor(status: number, message: string) {
    super(message);
    this.status = status;
  }
}

export class FakeQdrant {
  readonly collections = new Map<string, Collection>();
  readonly requests: RecordedRequest[] = [];
  /** When set, every request is answered with this status (e.g. 503). */
  failWith: number | null = null;
  private server: http.Server | null = null;
  private started = Date.now();

  get url(): string {
    const address = this.server?.address() as AddressInfo | null;
    if (!address) throw new Error('fake Qdrant is not listening');
    return `http://127.0.0.1:${address.port}`;
  }

  async start(): Promise<this> {
    this.started = Date.now();
    this.server = http.createServer((req, res) => { void this.handle(req, res); });
    this.server.keepAliveTimeout = 1000;
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    return this;
  }

  async stop(): Promise<void> {
    const server = this.server;
    this.server = null;
    if (!server) return;
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  private async handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const url = new URL(req.url ?? '/', 'http://fake');
    const method = req.method ?? 'GET';
    let body: unknown = undefined;
    try {
      if (chunks.length > 0) body = JSON.parse(Buffer.concat(chunks).toString('utf8'));
      this.requests.push({ method, path: url.pathname, query: url.search, body });
      if (this.failWith !== null) throw new HttpError(this.failWith, 'injected failure');
      const result = this.route(method, url.pathname, body);
      this.reply(res, 200, { result, status: 'ok', time: (Date.now() - this.started) / 1e6 });
    } catch (error) {
      const status = error instanceof HttpError ? error.status : 400;
      this.reply(res, status, { status: { error: (error as Error).message }, time: 0 });
    }
  }

  private reply(res: http.ServerResponse, status: number, payload: unknown): void {
    const text = JSON.stringify(payload);
    res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
    res.end(text);
  }

  private route(method: string, path: string, body: unknown): Json {
    if (method === 'GET' && path === '/') return { title: 'qdrant - vector search engine (fake)', version: '1.19.0' };
    const match = /^\/collections\/([^/]+)(\/.*)?$/.exec(path);
    if (!match) throw new HttpError(404, `no route ${method} ${path}`);
    const name = decodeURIComponent(match[1]!);
    const rest = match[2] ?? '';
    const b = (body ?? {}) as Record<string, unknown>;
    switch (`${method} ${rest}`) {
      case 'GET /exists': return { exists: this.collections.has(name) };
      case 'PUT ': return this.create(name, b);
      case 'GET ': return this.info(name);
      case 'DELETE ': return this.collections.delete(name);
      case 'PUT /points': return this.upsert(name, b);
      case 'POST /points': return this.retrieve(name, b);
      case 'POST /points/query': return { points: this.query(name, b) };
      case 'POST /points/query/batch': return ((b.searches as unknown[]) ?? []).map((s) => ({ points: this.query(name, s as Record<string, unknown>) }));
      default: throw new HttpError(404, `no route ${method} ${path}`);
    }
  }

  private collection(name: string): Collection {
    const c = this.collections.get(name);
    if (!c) throw new HttpError(404, `Not found: Collection \`${name}\` doesn't exist!`);
    return c;
  }

  private create(name: string, body: Record<string, unknown>): Json {
    if (this.collections.has(name)) throw new HttpError(409, `Wrong input: Collection \`${name}\` already exists!`);
    const vectors = body.vectors as { size?: unknown; distance?: unknown } | undefined;
    if (typeof vectors?.size !== 'number' || !Number.isInteger(vectors.size) || vectors.size < 1) throw new HttpError(400, 'vectors.size must be a positive integer');
    if (!['Cosine', 'Dot', 'Euclid', 'Manhattan'].includes(String(vectors.distance))) throw new HttpError(400, 'unknown distance');
    this.collections.set(name, { size: vectors.size, distance: String(vectors.distance), points: new Map(), version: 0 });
    return true;
  }

  private info(name: string): Json {
    const c = this.collection(name);
    return {
      status: 'green',
      optimizer_status: 'ok',
      indexed_vectors_count: 0,
      points_count: c.points.size,
      segments_count: 1,
      config: {
        params: { vectors: { size: c.size, distance: c.distance }, shard_number: 1, replication_factor: 1, write_consistency_factor: 1, on_disk_payload: true },
        hnsw_config: { m: 16, ef_construct: 100, full_scan_threshold: 10000, max_indexing_threads: 0, on_disk: false },
        optimizer_config: { deleted_threshold: 0.2, vacuum_min_vector_number: 1000, default_segment_number: 0, max_segment_size: null, memmap_threshold: null, indexing_threshold: 20000, flush_interval_sec: 5, max_optimization_threads: null },
        wal_config: { wal_capacity_mb: 32, wal_segments_ahead: 0 },
        quantization_config: null,
      },
      payload_schema: {},
    };
  }

  private upsert(name: string, body: Record<string, unknown>): Json {
    const c = this.collection(name);
    const points = body.points;
    if (!Array.isArray(points)) throw new HttpError(400, 'only the "points" form of upsert is supported');
    c.version += 1;
    for (const raw of points as Array<Record<string, unknown>>) {
      const id = raw.id;
      const validId = (typeof id === 'number' && Number.isSafeInteger(id) && id >= 0) || (typeof id === 'string' && UUID.test(id));
      if (!validId) throw new HttpError(400, `Format error in JSON body: value ${JSON.stringify(id)} is not a valid point ID, valid values are either an unsigned integer or a UUID`);
      const vector = raw.vector;
      if (!Array.isArray(vector) || vector.some((x) => typeof x !== 'number')) throw new HttpError(400, 'vector must be an array of numbers');
      if (vector.length !== c.size) throw new HttpError(400, `Wrong input: Vector dimension error: expected dim: ${c.size}, got ${vector.length}`);
      c.points.set(String(id).toLowerCase(), {
        id: id as PointId,
        vector: c.distance === 'Cosine' ? normalise(vector as number[]) : (vector as number[]),
        payload: (raw.payload ?? {}) as Record<string, Json>,
        version: c.version,
      });
    }
    return { operation_id: c.version, status: 'completed' };
  }

  private retrieve(name: string, body: Record<string, unknown>): Json {
    const c = this.collection(name);
    const ids = (body.ids ?? []) as PointId[];
    return ids.flatMap((id) => {
      const p = c.points.get(String(id).toLowerCase());
      return p ? [{ id: p.id, payload: p.payload }] : [];
    });
  }

  private query(name: string, body: Record<string, unknown>): Json[] {
    const c = this.collection(name);
    const raw = body.query;
    const vector = Array.isArray(raw) ? raw : (raw as { nearest?: unknown } | undefined)?.nearest;
    if (!Array.isArray(vector)) throw new HttpError(400, 'only nearest-vector queries are supported');
    if (vector.length !== c.size) throw new HttpError(400, `Wrong input: Vector dimension error: expected dim: ${c.size}, got ${vector.length}`);
    const q = c.distance === 'Cosine' ? normalise(vector as number[]) : (vector as number[]);
    const filter = (body.filter ?? undefined) as Filter | undefined;
    const threshold = typeof body.score_threshold === 'number' ? body.score_threshold : -Infinity;
    const limit = typeof body.limit === 'number' ? body.limit : 10;
    const withPayload = body.with_payload === true;
    const withVector = body.with_vector === true;
    const scored = [...c.points.values()]
      .filter((p) => matchesFilter(p.payload, filter))
      .map((p) => ({ p, score: dot(q, p.vector) }))
      .filter(({ score }) => score >= threshold)
      .sort((a, b) => b.score - a.score);
    return scored.slice(0, limit).map(({ p, score }) => ({
      id: p.id,
      version: p.version,
      score,
      payload: withPayload ? p.payload : null,
      vector: withVector ? p.vector : null,
      shard_key: null,
      order_value: null,
    }));
  }
}

function normalise(vector: number[]): number[] {
  const norm = Math.sqrt(vector.reduce((sum, x) => sum + x * x, 0));
  return norm === 0 ? vector.slice() : vector.map((x) => x / norm);
}

function dot(a: number[], b: number[]): number {
  let sum = 0;
  for (let i = 0; i < a.length; i++) sum += a[i]! * b[i]!;
  return sum;
}

function matchesFilter(payload: Record<string, Json>, filter: Filter | undefined): boolean {
  if (!filter) return true;
  const holds = (condition: MatchCondition) => {
    if (typeof condition.key !== 'string' || condition.match === undefined) throw new HttpError(400, 'only {key, match: {value}} conditions are supported');
    return payload[condition.key] === condition.match.value;
  };
  return (filter.must ?? []).every(holds) && !(filter.must_not ?? []).some(holds);
}

export async function startFakeQdrant(): Promise<FakeQdrant> {
  return new FakeQdrant().start();
}
