// topics.yaml: parse and validate (pure), plan the changes against the broker (pure), apply (adapter).
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Ajv } from 'ajv';
import YAML from 'yaml';
import { SentinelError } from '../errors/index.ts';
import type { Compatibility } from '../serde/registry.ts';
import type { MessagingAdmin, TopicSpecActual } from './types.ts';

export const TOPICS_FILE = fileURLToPath(new URL('../../topics.yaml', import.meta.url));
const SCHEMA_FILE = fileURLToPath(new URL('../../schemas/json/topics.schema.json', import.meta.url));

export interface TopicDeclaration {
  name: string;
  description: string;
  partitions: number;
  key: string;
  schema: string;
  compatibility: Compatibility;
  config: Record<string, string>;
  consumers: string[];
  deadLetter: string;
}

export interface DesiredTopic {
  /** Physical name (prefix applied). */
  name: string;
  logical: string;
  partitions: number;
  replication: number;
  config: Record<string, string>;
  /** The topic's value schema and compatibility, or null for dead-letter topics (raw bytes). */
  schema: { name: string; compatibility: Compatibility } | null;
}

interface TopicsFile {
  defaults: { replication: number; config?: Record<string, string> };
  deadLetterDefaults: { partitions: number; config?: Record<string, string> };
  topics: TopicDeclaration[];
}

export function parseTopicsFile(text: string): TopicsFile {
  const parsed: unknown = YAML.parse(text);
  const ajv = new Ajv({ allErrors: false, strict: true });
  const validate = ajv.compile<TopicsFile>(JSON.parse(readFileSync(SCHEMA_FILE, 'utf8')) as object);
  if (!validate(parsed)) {
    const e = validate.errors?.[0];
    throw new SentinelError('SNT_VALIDATION_FAILED', `topics.yaml ${e?.instancePath || '/'} ${e?.message ?? 'is invalid'}`, { details: { paths: [e?.instancePath ?? ''] } });
  }
  const seen = new Set<string>();
  for (const topic of parsed.topics) {
    if (seen.has(topic.name)) throw new SentinelError('SNT_VALIDATION_FAILED', `topics.yaml declares ${topic.name} twice`);
    seen.add(topic.name);
    if (topic.deadLetter !== `${topic.name}.dlq`) {
      throw new SentinelError('SNT_VALIDATION_FAILED', `topics.yaml: dead-letter topic of ${topic.name} must be ${topic.name}.dlq`);
    }
  }
  return parsed;
}

/** Every topic to exist, with the prefix applied and defaults merged. */
export function desiredTopics(file: TopicsFile, options: { prefix?: string; replication?: number } = {}): DesiredTopic[] {
  const prefix = options.prefix ?? '';
  const replication = options.replication ?? file.defaults.replication;
  const out: DesiredTopic[] = [];
  for (const t of file.topics) {
    out.push({
      name: prefix + t.name, logical: t.name, partitions: t.partitions, replication,
      config: { ...file.defaults.config, ...t.config },
      schema: { name: t.schema, compatibility: t.compatibility },
    });
    out.push({
      name: prefix + t.deadLetter, logical: t.deadLetter, partitions: file.deadLetterDefaults.partitions, replication,
      config: { ...file.defaults.config, ...file.deadLetterDefaults.config },
      schema: null,
    });
  }
  return out;
}

export function loadDesiredTopics(options: { prefix?: string; replication?: number; file?: string } = {}): DesiredTopic[] {
  return desiredTopics(parseTopicsFile(readFileSync(options.file ?? TOPICS_FILE, 'utf8')), options);
}

export type TopicChange =
  | { kind: 'create'; topic: DesiredTopic }
  | { kind: 'add-partitions'; topic: string; from: number; to: number }
  | { kind: 'alter-config'; topic: string; config: Record<string, string>; changed: Record<string, { from: string | undefined; to: string }> }
  | { kind: 'drift'; topic: string; detail: string };

/**
 * What must change for the broker to match the declaration. Partitions only grow (shrinking is
 * impossible and re-keys every conversation); replication changes need a reassignment: both are
 * reported as drift, never applied.
 */
export function planTopics(desired: DesiredTopic[], actual: TopicSpecActual[]): TopicChange[] {
  const changes: TopicChange[] = [];
  for (const want of desired) {
    const have = actual.find((a) => a.name === want.name);
    if (!have) {
      changes.push({ kind: 'create', topic: want });
      continue;
    }
    if (want.partitions > have.partitions) changes.push({ kind: 'add-partitions', topic: want.name, from: have.partitions, to: want.partitions });
    if (want.partitions < have.partitions) changes.push({ kind: 'drift', topic: want.name, detail: `has ${have.partitions} partitions, declared ${want.partitions}; partitions cannot shrink` });
    if (want.replication !== have.replication) changes.push({ kind: 'drift', topic: want.name, detail: `replication ${have.replication}, declared ${want.replication}; needs a partition reassignment` });
    const changed: Record<string, { from: string | undefined; to: string }> = {};
    for (const [key, value] of Object.entries(want.config)) {
      if (have.config[key] !== value) changed[key] = { from: have.config[key], to: value };
    }
    if (Object.keys(changed).length > 0) changes.push({ kind: 'alter-config', topic: want.name, config: want.config, changed });
  }
  return changes;
}

export async function describeActual(admin: MessagingAdmin, desired: DesiredTopic[]): Promise<TopicSpecActual[]> {
  const existing = new Set(await admin.listTopics());
  const names = desired.map((d) => d.name).filter((n) => existing.has(n));
  const keys = [...new Set(desired.flatMap((d) => Object.keys(d.config)))];
  return admin.describeTopics(names, keys);
}

/**
 * Applies every change it safely can; returns the plan it acted on (drift entries are only
 * reported). A broker that has just created topics (or just started) can briefly answer
 * UNKNOWN_TOPIC_OR_PARTITION about them; applying is idempotent, so it simply tries again.
 */
export async function applyTopics(admin: MessagingAdmin, desired: DesiredTopic[]): Promise<TopicChange[]> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await applyTopicsOnce(admin, desired);
    } catch (error) {
      const type = (error as { type?: string }).type;
      if (attempt >= 6 || (type !== 'UNKNOWN_TOPIC_OR_PARTITION' && type !== 'LEADER_NOT_AVAILABLE')) throw error;
      await new Promise((resolve) => setTimeout(resolve, 300 * attempt));
    }
  }
}

async function applyTopicsOnce(admin: MessagingAdmin, desired: DesiredTopic[]): Promise<TopicChange[]> {
  const plan = planTopics(desired, await describeActual(admin, desired));
  for (const change of plan) {
    switch (change.kind) {
      case 'create':
        await admin.createTopic(change.topic);
        break;
      case 'add-partitions':
        await admin.addPartitions(change.topic, change.to);
        break;
      case 'alter-config':
        await admin.alterConfig(change.topic, change.config);
        break;
      case 'drift':
        break;
      default: {
        const exhaustive: never = change;
        throw new TypeError(`unknown change ${JSON.stringify(exhaustive)}`);
      }
    }
  }
  if (plan.some((change) => change.kind !== 'drift')) await awaitVisible(admin, desired);
  return plan;
}

/**
 * Metadata reaches the broker's answers a moment after a change is accepted; waiting here means
 * that when apply returns, a describe (or the next apply) already sees the result.
 */
async function awaitVisible(admin: MessagingAdmin, desired: DesiredTopic[], timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (let delay = 50; Date.now() < deadline; delay = Math.min(delay * 2, 1000)) {
    const pending = planTopics(desired, await describeActual(admin, desired)).filter((change) => change.kind !== 'drift');
    if (pending.length === 0) return;
    await new Promise((resolve) => setTimeout(resolve, delay));
  }
}
