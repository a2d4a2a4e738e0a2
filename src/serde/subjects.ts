// Registers each topic's value schema under its subject and sets the subject's compatibility
// level; checks candidate schemas against the registry before they ship.
import { SentinelError } from '../errors/index.ts';
import type { DesiredTopic } from '../kafka/topics.ts';
import type { CatalogEntry } from './catalog.ts';
import { valueSubject, type SchemaRegistry } from './registry.ts';

export interface SubjectResult {
  subject: string;
  schema: string;
  id: number;
  status: 'registered' | 'unchanged';
  compatibility: string;
}

function entryFor(catalog: ReadonlyMap<string, CatalogEntry>, name: string): CatalogEntry {
  const entry = catalog.get(name);
  if (!entry) throw new SentinelError('SNT_VALIDATION_FAILED', `topics.yaml names schema ${name}, which is not in schemas/avro/events`);
  return entry;
}

export async function registerSchemas(registry: SchemaRegistry, catalog: ReadonlyMap<string, CatalogEntry>, topics: DesiredTopic[]): Promise<SubjectResult[]> {
  const results: SubjectResult[] = [];
  for (const topic of topics) {
    if (!topic.schema) continue;
    const entry = entryFor(catalog, topic.schema.name);
    const subject = valueSubject(topic.name);
    const existing = await registry.lookup(subject, entry.text);
    if (existing) {
      if ((await registry.getCompatibility(subject)) !== topic.schema.compatibility) {
        await registry.setCompatibility(subject, topic.schema.compatibility);
      }
      results.push({ subject, schema: entry.name, id: existing.id, status: 'unchanged', compatibility: topic.schema.compatibility });
      continue;
    }
    const id = await registry.register(subject, entry.text); // the registry enforces the subject's level
    await registry.setCompatibility(subject, topic.schema.compatibility);
    results.push({ subject, schema: entry.name, id, status: 'registered', compatibility: topic.schema.compatibility });
  }
  return results;
}

export interface CompatibilityReport { subject: string; schema: string; compatible: boolean; messages: string[] }

/** Asks the registry whether each local schema could be registered; changes nothing. */
export async function checkSchemas(registry: SchemaRegistry, catalog: ReadonlyMap<string, CatalogEntry>, topics: DesiredTopic[]): Promise<CompatibilityReport[]> {
  const reports: CompatibilityReport[] = [];
  for (const topic of topics) {
    if (!topic.schema) continue;
    const entry = entryFor(catalog, topic.schema.name);
    const subject = valueSubject(topic.name);
    const verdict = await registry.isCompatible(subject, entry.text);
    reports.push({ subject, schema: entry.name, ...verdict });
  }
  return reports;
}
