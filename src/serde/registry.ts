// Adapter for a Confluent-compatible schema registry (Apicurio's /apis/ccompat/v7 in our stack).
// Only this file speaks HTTP to the registry. Failures to reach it become SNT_DEPENDENCY_UNAVAILABLE.
import { SentinelError } from '../errors/index.ts';

export type Compatibility =
  | 'NONE' | 'BACKWARD' | 'BACKWARD_TRANSITIVE' | 'FORWARD' | 'FORWARD_TRANSITIVE' | 'FULL' | 'FULL_TRANSITIVE';

export interface SchemaRegistry {
  register(subject: string, schema: string): Promise<number>;
  lookup(subject: string, schema: string): Promise<{ id: number; version: number } | null>;
  isCompatible(subject: string, schema: string): Promise<{ compatible: boolean; messages: string[] }>;
  getCompatibility(subject: string): Promise<Compatibility | null>;
  setCompatibility(subject: string, level: Compatibility): Promise<void>;
  getSchemaById(id: number): Promise<string | null>;
  listVersionIds(subject: string): Promise<number[]>;
  listSubjects(): Promise<string[]>;
  /** Deletes a subject and its versions for good (soft delete, then permanent). */
  deleteSubject(subject: string): Promise<void>;
  ping(): Promise<void>;
}

const CONTENT_TYPE = 'application/vnd.schemaregistry.v1+json';

export class HttpSchemaRegistry implements SchemaRegistry {
  readonly baseUrl: string;
  /** Counts HTTP calls; the hot path must make none after warm-up (asserted in tests and bench). */
  requestCount = 0;
  private readonly timeoutMs: number;

  constructor(baseUrl: string, options: { timeoutMs?: number } = {}) {
    this.baseUrl = baseUrl.replace(/\/+$/, '');
    this.timeoutMs = options.timeoutMs ?? 5000;
  }

  private async call(method: string, path: string, body?: unknown): Promise<{ status: number; json: unknown }> {
    this.requestCount++;
    let response: Response;
    try {
      response = await fetch(`${this.baseUrl}${path}`, {
        method,
        headers: { accept: CONTENT_TYPE, ...(body === undefined ? {} : { 'content-type': CONTENT_TYPE }) },
        body: body === undefined ? undefined : JSON.stringify(body),
        signal: AbortSignal.timeout(this.timeoutMs),
      });
    } catch (error) {
      throw new SentinelError('SNT_DEPENDENCY_UNAVAILABLE', `schema registry unreachable at ${this.baseUrl}: ${(error as Error).message}`, { cause: error });
    }
    const text = await response.text();
    let json: unknown;
    try { json = text ? JSON.parse(text) : null; } catch { json = { message: text }; }
    if (response.status >= 500) {
      throw new SentinelError('SNT_DEPENDENCY_UNAVAILABLE', `schema registry answered ${response.status} to ${method} ${path}: ${text.slice(0, 200)}`);
    }
    return { status: response.status, json };
  }

  private static message(json: unknown): string {
    const m = (json as { message?: unknown } | null)?.message;
    return typeof m === 'string' ? m : JSON.stringify(json);
  }

  async register(subject: string, schema: string): Promise<number> {
    const { status, json } = await this.call('POST', `/subjects/${encodeURIComponent(subject)}/versions`, { schema, schemaType: 'AVRO' });
    if (status === 409) {
      throw new SentinelError('SNT_REGISTRY_INCOMPATIBLE', `registry refused an incompatible schema for ${subject}: ${HttpSchemaRegistry.message(json)}`, { details: { subject } });
    }
    if (status === 422) {
      throw new SentinelError('SNT_VALIDATION_FAILED', `registry rejected the schema for ${subject}: ${HttpSchemaRegistry.message(json)}`, { details: { subject } });
    }
    const id = (json as { id?: unknown } | null)?.id;
    if (status !== 200 || typeof id !== 'number') throw new Error(`unexpected registry answer ${status} to register ${subject}: ${JSON.stringify(json)}`);
    return id;
  }

  async lookup(subject: string, schema: string): Promise<{ id: number; version: number } | null> {
    const { status, json } = await this.call('POST', `/subjects/${encodeURIComponent(subject)}`, { schema, schemaType: 'AVRO' });
    if (status === 404) return null;
    const found = json as { id?: unknown; version?: unknown } | null;
    if (status !== 200 || typeof found?.id !== 'number' || typeof found.version !== 'number') {
      throw new Error(`unexpected registry answer ${status} to lookup ${subject}: ${JSON.stringify(json)}`);
    }
    return { id: found.id, version: found.version };
  }

  async isCompatible(subject: string, schema: string): Promise<{ compatible: boolean; messages: string[] }> {
    const { status, json } = await this.call('POST', `/compatibility/subjects/${encodeURIComponent(subject)}/versions/latest?verbose=true`, { schema, schemaType: 'AVRO' });
    if (status === 404) return { compatible: true, messages: ['subject has no versions yet'] };
    const result = json as { is_compatible?: unknown; messages?: unknown } | null;
    if (status === 409 || status === 422) return { compatible: false, messages: [HttpSchemaRegistry.message(json)] };
    if (status !== 200 || typeof result?.is_compatible !== 'boolean') {
      throw new Error(`unexpected registry answer ${status} to a compatibility check of ${subject}: ${JSON.stringify(json)}`);
    }
    return { compatible: result.is_compatible, messages: Array.isArray(result.messages) ? result.messages.map(String) : [] };
  }

  async getCompatibility(subject: string): Promise<Compatibility | null> {
    const { status, json } = await this.call('GET', `/config/${encodeURIComponent(subject)}`);
    if (status === 404) return null;
    const level = (json as { compatibilityLevel?: unknown; compatibility?: unknown } | null);
    const value = level?.compatibilityLevel ?? level?.compatibility;
    return typeof value === 'string' ? (value as Compatibility) : null;
  }

  async setCompatibility(subject: string, level: Compatibility): Promise<void> {
    const { status, json } = await this.call('PUT', `/config/${encodeURIComponent(subject)}`, { compatibility: level });
    if (status !== 200) throw new Error(`registry refused compatibility ${level} for ${subject}: ${status} ${JSON.stringify(json)}`);
  }

  async getSchemaById(id: number): Promise<string | null> {
    const { status, json } = await this.call('GET', `/schemas/ids/${id}`);
    if (status === 404) return null;
    const schema = (json as { schema?: unknown } | null)?.schema;
    if (status !== 200 || typeof schema !== 'string') throw new Error(`unexpected registry answer ${status} for schema id ${id}`);
    return schema;
  }

  async listVersionIds(subject: string): Promise<number[]> {
    const { status, json } = await this.call('GET', `/subjects/${encodeURIComponent(subject)}/versions`);
    if (status === 404) return [];
    if (status !== 200 || !Array.isArray(json)) throw new Error(`unexpected registry answer ${status} for versions of ${subject}`);
    const ids: number[] = [];
    for (const version of json as number[]) {
      const v = await this.call('GET', `/subjects/${encodeURIComponent(subject)}/versions/${version}`);
      const id = (v.json as { id?: unknown } | null)?.id;
      if (v.status === 200 && typeof id === 'number') ids.push(id);
    }
    return ids;
  }

  async listSubjects(): Promise<string[]> {
    const { status, json } = await this.call('GET', '/subjects');
    if (status !== 200 || !Array.isArray(json)) throw new Error(`unexpected registry answer ${status} for subjects`);
    return json.map(String);
  }

  async deleteSubject(subject: string): Promise<void> {
    await this.call('DELETE', `/subjects/${encodeURIComponent(subject)}`);
    await this.call('DELETE', `/subjects/${encodeURIComponent(subject)}?permanent=true`);
  }

  /** A cheap request (the global compatibility level), unlike listing every subject. */
  async ping(): Promise<void> {
    const { status } = await this.call('GET', '/config');
    if (status !== 200) throw new Error(`schema registry answered ${status} to GET /config`);
  }
}

/** Subject naming: Confluent's TopicNameStrategy for record values. */
export function valueSubject(topic: string): string {
  return `${topic}-value`;
}
