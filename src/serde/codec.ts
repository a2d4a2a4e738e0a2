// Encodes and decodes Sentinel events in the Confluent wire format, with schemas from the registry.
// Writer schema ids are resolved once per topic at start-up; writer schemas met while decoding are
// fetched once per id and cached, with their resolvers. After warm-up the hot path makes no
// registry calls (HttpSchemaRegistry.requestCount stays flat).
import avro from 'avsc';
import { SentinelError } from '../errors/index.ts';
import type { CatalogEntry } from './catalog.ts';
import { valueSubject, type SchemaRegistry } from './registry.ts';
import { decodeFrame, encodeFrame } from './wire.ts';

interface Writer { schemaId: number; type: avro.Type; entry: CatalogEntry }
interface Reader {
  entry: CatalogEntry;
  allowedIds: Set<number>;
  lastRefresh: number;
  resolvers: Map<number, avro.Resolver | null>;
}

export interface DecodedRecord<T = unknown> {
  schemaId: number;
  value: T;
}

const REFRESH_INTERVAL_MS = 5000;

/** avsc decodes records as instances of generated classes; domain code works on plain data. */
function toPlain(value: unknown): unknown {
  if (value === null || typeof value !== 'object' || Buffer.isBuffer(value)) return value;
  if (Array.isArray(value)) return value.map(toPlain);
  const out: Record<string, unknown> = {};
  for (const key of Object.keys(value)) out[key] = toPlain((value as Record<string, unknown>)[key]);
  return out;
}

function invalidPaths(type: avro.Type, value: unknown): string[] {
  const paths: string[] = [];
  type.isValid(value, { errorHook: (path) => { paths.push(path.join('.') || '(root)'); } });
  return paths;
}

export class EventCodec {
  private readonly registry: SchemaRegistry;
  private readonly catalog: ReadonlyMap<string, CatalogEntry>;
  private readonly maxRecordBytes: number;
  private readonly writers = new Map<string, Writer>();
  private readonly readers = new Map<string, Reader>();
  private readonly writerTypes = new Map<number, Promise<avro.Type | null>>();

  constructor(registry: SchemaRegistry, catalog: ReadonlyMap<string, CatalogEntry>, options: { maxRecordBytes?: number } = {}) {
    this.registry = registry;
    this.catalog = catalog;
    this.maxRecordBytes = options.maxRecordBytes ?? 1024 * 1024;
  }

  private entry(eventName: string): CatalogEntry {
    const entry = this.catalog.get(eventName);
    if (!entry) throw new TypeError(`no Avro schema named ${eventName} in the catalog`);
    return entry;
  }

  /**
   * Resolves the registry id of our schema for `topic`. The schema must have been registered
   * (`sentinel schemas register`); with `autoRegister` it is registered here, which development uses.
   */
  async useWriter(topic: string, eventName: string, options: { autoRegister?: boolean } = {}): Promise<number> {
    const entry = this.entry(eventName);
    const subject = valueSubject(topic);
    let found = await this.registry.lookup(subject, entry.text);
    if (!found && options.autoRegister) {
      await this.registry.register(subject, entry.text);
      found = await this.registry.lookup(subject, entry.text);
    }
    if (!found) {
      throw new SentinelError('SNT_SERDE_UNKNOWN_SCHEMA', `schema ${eventName} is not registered under ${subject}; run "sentinel schemas register"`);
    }
    this.writers.set(topic, { schemaId: found.id, type: entry.type, entry });
    return found.id;
  }

  /** Declares the schema records of `topic` are read as (the reader schema). */
  useReader(topic: string, eventName: string): void {
    this.readers.set(topic, { entry: this.entry(eventName), allowedIds: new Set(), lastRefresh: 0, resolvers: new Map() });
  }

  writerSchemaId(topic: string): number | undefined {
    return this.writers.get(topic)?.schemaId;
  }

  encode(topic: string, value: unknown): Buffer {
    const writer = this.writers.get(topic);
    if (!writer) throw new TypeError(`no writer schema resolved for topic ${topic}; call useWriter first`);
    let body: Buffer;
    try {
      body = writer.type.toBuffer(value);
    } catch (error) {
      throw new SentinelError('SNT_SERDE_ENCODE_FAILED', `value does not match ${writer.entry.name}: ${(error as Error).message}`, {
        cause: error, details: { paths: invalidPaths(writer.type, value) },
      });
    }
    return encodeFrame(writer.schemaId, body);
  }

  private async writerType(schemaId: number): Promise<avro.Type | null> {
    let pending = this.writerTypes.get(schemaId);
    if (!pending) {
      pending = this.registry.getSchemaById(schemaId).then((text) => (text === null ? null : avro.Type.forSchema(JSON.parse(text) as avro.Schema)));
      this.writerTypes.set(schemaId, pending);
      pending.catch(() => this.writerTypes.delete(schemaId)); // do not cache outages
    }
    return pending;
  }

  private async resolverFor(topic: string, reader: Reader, schemaId: number): Promise<avro.Resolver | null> {
    if (reader.resolvers.has(schemaId)) return reader.resolvers.get(schemaId)!;
    if (!reader.allowedIds.has(schemaId)) {
      const now = Date.now();
      if (now - reader.lastRefresh >= REFRESH_INTERVAL_MS || reader.allowedIds.size === 0) {
        reader.lastRefresh = now;
        for (const id of await this.registry.listVersionIds(valueSubject(topic))) reader.allowedIds.add(id);
      }
      if (!reader.allowedIds.has(schemaId)) {
        throw new SentinelError('SNT_SERDE_UNKNOWN_SCHEMA', `schema id ${schemaId} is not a version of ${valueSubject(topic)}`, { details: { schemaId } });
      }
    }
    const writer = await this.writerType(schemaId);
    if (!writer) throw new SentinelError('SNT_SERDE_UNKNOWN_SCHEMA', `schema id ${schemaId} is unknown to the registry`, { details: { schemaId } });
    const resolver = writer.equals(reader.entry.type) ? null : reader.entry.type.createResolver(writer);
    reader.resolvers.set(schemaId, resolver);
    return resolver;
  }

  async decode<T = unknown>(topic: string, frame: Buffer): Promise<DecodedRecord<T>> {
    const reader = this.readers.get(topic);
    if (!reader) throw new TypeError(`no reader schema declared for topic ${topic}; call useReader first`);
    if (frame.length > this.maxRecordBytes) {
      throw new SentinelError('SNT_SERDE_RECORD_TOO_LARGE', `record of ${frame.length} bytes exceeds ${this.maxRecordBytes}`);
    }
    const { schemaId, body } = decodeFrame(frame);
    const resolver = await this.resolverFor(topic, reader, schemaId);
    let decoded: { value: unknown; offset: number };
    try {
      decoded = resolver ? reader.entry.type.decode(body, 0, resolver) : reader.entry.type.decode(body, 0);
    } catch (error) {
      throw new SentinelError('SNT_SERDE_DECODE_FAILED', `cannot decode ${reader.entry.name} (schema id ${schemaId}): ${(error as Error).message}`, { cause: error, details: { schemaId } });
    }
    if (decoded.offset !== body.length) {
      const why = decoded.offset < 0 ? 'truncated or invalid body' : `${body.length - decoded.offset} trailing bytes`;
      throw new SentinelError('SNT_SERDE_DECODE_FAILED', `cannot decode ${reader.entry.name} (schema id ${schemaId}): ${why}`, { details: { schemaId } });
    }
    return { schemaId, value: toPlain(decoded.value) as T };
  }
}
