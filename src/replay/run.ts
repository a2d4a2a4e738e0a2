// Runs replays against Kafka and the schema registry: reads each topic's range with the group-less
// reader (src/replay/source.ts), decodes every record through the registry, and feeds the pure
// checks (analyze.ts, counterfactual.ts). Reports progress on a writable (stderr in the CLI).
import { registerKeys, emptyKeyRegistry } from '../approval/keys/registry.ts';
import { keyTimeline, type KeyTimeline } from '../audit/key-timeline.ts';
import {
  ApprovalSigned, AuditRecorded, ChannelReplyRequested, DecisionMade, ExecutionRecorded, HumanApprovalResponded, IntentSubmitted, SigningKeyPublished,
  type EventDefinition,
} from '../contracts/events.ts';
import type { EventMetadata } from '../contracts/metadata.ts';
import type { Decision, ExecutionResult, HumanApprovalResponse, Intent, SignedApprovalEvent, SigningKeyRecord } from '../domain/types.ts';
import type { IncomingMessage } from '../kafka/types.ts';
import type { CompiledRuleSet } from '../policy/types.ts';
import type { EventCodec } from '../serde/codec.ts';
import { ReplayAnalyzer, type AnalyzerOptions, type Position, type ReplayReport } from './analyze.ts';
import { CounterfactualRun, type CounterfactualReport } from './counterfactual.ts';
import { openTopicRange, type RangeBound, type TopicRangeReader } from './source.ts';

export const REPLAYABLE: ReadonlyArray<EventDefinition<any>> = [
  IntentSubmitted, DecisionMade, HumanApprovalResponded, ApprovalSigned, ExecutionRecorded, ChannelReplyRequested, SigningKeyPublished, AuditRecorded,
];

/** The pipeline topics a full replay reads, in the order the checks need (executions before approvals). */
export const PIPELINE_ORDER = ['sentinel.executions', 'sentinel.decisions', 'sentinel.human-approvals', 'sentinel.approvals', 'sentinel.intents'] as const;

export function definitionOf(logical: string): EventDefinition<any> {
  const found = REPLAYABLE.find((d) => d.topic === logical);
  if (!found) throw new TypeError(`unknown topic ${logical}; replayable topics: ${REPLAYABLE.map((d) => d.topic).join(', ')}`);
  return found;
}

export interface ReplayContext {
  brokers: string[];
  clientId: string;
  /** TOPIC_PREFIX. */
  topicPrefix: string;
  /** A codec; readers are declared here as topics are read. */
  codec: EventCodec;
  /** Progress lines go here (stderr); null for none. */
  progress: NodeJS.WritableStream | null;
  progressIntervalMs?: number;
}

export interface DecodedEvent<T = unknown> {
  definition: EventDefinition<T>;
  position: Position;
  key: string | null;
  schemaId: number;
  metadata: EventMetadata;
  data: T;
}

export interface RangeOptions { from: RangeBound; to: RangeBound }

class Progress {
  private readonly out: NodeJS.WritableStream | null;
  private readonly intervalMs: number;
  private last = 0;
  private started = 0;
  private done = 0;
  private topic = '';
  private span = 0;

  constructor(out: NodeJS.WritableStream | null, intervalMs: number) {
    this.out = out;
    this.intervalMs = intervalMs;
  }

  begin(topic: string, span: number): void {
    this.topic = topic;
    this.span = span;
    this.done = 0;
    this.started = this.last = performance.now();
    this.out?.write(`[replay] ${topic}: ${span.toLocaleString('en-US')} offsets to read\n`);
  }

  advance(count: number): void {
    this.done += count;
    const now = performance.now();
    if (this.out === null || now - this.last < this.intervalMs) return;
    this.last = now;
    const rate = this.done / ((now - this.started) / 1000);
    const percent = this.span > 0 ? ` (${Math.min(100, (100 * this.done) / this.span).toFixed(1)} %)` : '';
    this.out.write(`[replay] ${this.topic}: ${this.done.toLocaleString('en-US')}/${this.span.toLocaleString('en-US')}${percent}, ${Math.round(rate).toLocaleString('en-US')} records/s\n`);
  }

  end(): void {
    const seconds = (performance.now() - this.started) / 1000;
    this.out?.write(`[replay] ${this.topic}: ${this.done.toLocaleString('en-US')} records in ${seconds.toFixed(1)} s\n`);
  }
}

/**
 * Reads one logical topic's range and calls `visit` with each decoded record (in offset order per
 * partition); a record that cannot be decoded goes to `undecodable`. Returns the records read.
 */
export async function readRange<T>(
  ctx: ReplayContext, definition: EventDefinition<T>, range: RangeOptions,
  visit: (event: DecodedEvent<T>) => void, undecodable: (position: Position, reason: string) => void,
): Promise<number> {
  const physical = ctx.topicPrefix + definition.topic;
  ctx.codec.useReader(physical, definition.schemaName);
  const progress = new Progress(ctx.progress, ctx.progressIntervalMs ?? 1000);
  let reader: TopicRangeReader | null = null;
  try {
    reader = await openTopicRange({ brokers: ctx.brokers, clientId: ctx.clientId }, physical, range.from, range.to);
    progress.begin(definition.topic, Number(reader.span));
    const { records } = await reader.read(async (messages: IncomingMessage[]) => {
      for (const m of messages) {
        const position: Position = { topic: definition.topic, partition: m.partition, offset: m.offset, timestamp: m.timestamp };
        if (m.value === null) {
          // A tombstone is how a compacted topic deletes a key; elsewhere it is a bad record.
          if (definition !== SigningKeyPublished) undecodable(position, 'record has no value (tombstone)');
          continue;
        }
        try {
          const decoded = await ctx.codec.decode<Record<string, unknown>>(physical, m.value);
          const { metadata, data } = definition.fromAvro(decoded.value);
          visit({ definition, position, key: m.key === null ? null : m.key.toString('utf8'), schemaId: decoded.schemaId, metadata, data });
        } catch (error) {
          if ((error as { retriable?: boolean }).retriable === true) throw error; // registry down: stop, do not report records as bad
          undecodable(position, `${(error as { code?: string }).code ?? 'error'}: ${(error as Error).message}`);
        }
      }
      progress.advance(messages.length);
    });
    progress.end();
    return records;
  } finally {
    await reader?.close();
  }
}

/** The key registry from the compacted sentinel.signing-keys topic (all of it), through time. */
export async function loadKeyTimeline(ctx: ReplayContext): Promise<{ keys: KeyTimeline; records: number; rejected: string[] }> {
  const records: SigningKeyRecord[] = [];
  const problems: string[] = [];
  await readRange(ctx, SigningKeyPublished, { from: { kind: 'earliest' }, to: { kind: 'latest' } },
    (e) => { records.push(e.data); },
    (position, reason) => { problems.push(`${position.topic}/${position.partition}@${position.offset}: ${reason}`); });
  const { registry, rejected } = registerKeys(emptyKeyRegistry(), records);
  for (const r of rejected) problems.push(`key ${r.record.keyId}: ${r.error.code}: ${r.error.message}`);
  return { keys: keyTimeline(registry), records: records.length, rejected: problems };
}

export interface ReplayOptions extends RangeOptions {
  /** Logical topics to read (a subset of PIPELINE_ORDER for the checks; others are exported only). */
  topics: readonly string[];
  analyzer: Omit<AnalyzerOptions, 'keys'>;
  keys: KeyTimeline;
  referenceTime: number;
  graceMs: number;
  /** Called with every decoded record (export). */
  onRecord?: (event: DecodedEvent) => void;
}

/** Runs the checks over the range; topics are read in the order the checks need. */
export async function runReplay(ctx: ReplayContext, options: ReplayOptions): Promise<ReplayReport> {
  const analyzer = new ReplayAnalyzer({ ...options.analyzer, keys: options.keys });
  const ordered = [
    ...PIPELINE_ORDER.filter((t) => options.topics.includes(t)),
    ...options.topics.filter((t) => !(PIPELINE_ORDER as readonly string[]).includes(t)),
  ];
  for (const topic of ordered) {
    const definition = definitionOf(topic);
    await readRange(ctx, definition, options, (event) => {
      options.onRecord?.(event);
      switch (topic) {
        case 'sentinel.intents': analyzer.addIntent(event.data as Intent, event.position); break;
        case 'sentinel.decisions': analyzer.addDecision(event.data as Decision, event.position); break;
        case 'sentinel.human-approvals': analyzer.addHumanResponse(event.data as HumanApprovalResponse, event.position); break;
        case 'sentinel.approvals': analyzer.addApproval(event.data as SignedApprovalEvent, event.position); break;
        case 'sentinel.executions': analyzer.addExecution(event.data as ExecutionResult, event.position); break;
        default: break;
      }
    }, (position, reason) => analyzer.addUndecodable(position, reason));
  }
  return analyzer.finish({ referenceTime: options.referenceTime, graceMs: options.graceMs, topicsRead: new Set(ordered) });
}

/**
 * Decides the range's intents again with a candidate rule set, each with the context snapshot of
 * its recorded decision. Decisions are read from the range's start to the end of the topic (a
 * decision follows its intent). Nothing is written anywhere.
 */
export async function runCounterfactual(ctx: ReplayContext, options: RangeOptions & { candidate: CompiledRuleSet }): Promise<CounterfactualReport> {
  const run = new CounterfactualRun(options.candidate);
  const ignore = () => {};
  await readRange(ctx, IntentSubmitted, options, (e) => run.addIntent(e.data), ignore);
  await readRange(ctx, DecisionMade, { from: options.from, to: { kind: 'latest' } }, (e) => run.addDecision(e.data, e.position), ignore);
  return run.finish();
}
