// Reads a fixed range of a topic without any consumer group: the partitions are assigned by hand,
// start and end offsets are resolved once (from offsets, timestamps, or the log's ends), and the
// reader fetches until every partition has reached its end. Nothing is committed and no group
// exists, so a replay can never disturb a live consumer group. Read-committed: records of aborted
// transactions are never returned (the client filters them), control records are skipped.
// Adapter over @platformatic/kafka's Consumer fetch/listOffsets/metadata calls (no join).
import { Consumer, FetchIsolationLevels, IS_CONTROL } from '@platformatic/kafka';
import { asMessagingError } from '../kafka/errors.ts';
import type { IncomingMessage } from '../kafka/types.ts';

/** Where a range starts or ends. `time` is epoch ms: the first record at or after it. */
export type RangeBound =
  | { kind: 'earliest' }
  | { kind: 'latest' }
  | { kind: 'offset'; offsets: ReadonlyMap<number, bigint> | bigint }
  | { kind: 'time'; at: number };

export interface PartitionRange {
  partition: number;
  /** First offset to read. */
  start: bigint;
  /** Exclusive end: the reader stops before it. */
  end: bigint;
}

export interface TopicRangeReader {
  topic: string;
  partitions: readonly PartitionRange[];
  /** Offsets in the range (an upper bound for compacted topics and for ranges with transaction markers). */
  readonly span: bigint;
  /** Calls `onBatch` with records in offset order per partition until every partition is done. */
  read(onBatch: (messages: IncomingMessage[]) => void | Promise<void>): Promise<{ records: number }>;
  close(): Promise<void>;
}

export interface RangeReaderSettings {
  brokers: string[];
  clientId: string;
  /** Bytes per partition per fetch (default 4 MiB). */
  maxBytesPerPartition?: number;
  timeoutMs?: number;
}

const EARLIEST = -2n;
const LATEST = -1n;

type RawConsumer = Consumer<Buffer, Buffer, Buffer, Buffer>;

async function listOffsets(consumer: RawConsumer, topic: string, timestamp: bigint): Promise<bigint[]> {
  const offsets = await consumer.listOffsets({ topics: [topic], timestamp, isolationLevel: FetchIsolationLevels.READ_COMMITTED });
  return offsets.get(topic) ?? [];
}

/** Offsets of a bound per partition; a partition an offset map does not name gets `unnamed`'s offset. */
async function resolveBound(consumer: RawConsumer, topic: string, bound: RangeBound, earliest: bigint[], latest: bigint[], unnamed: bigint[]): Promise<bigint[]> {
  switch (bound.kind) {
    case 'earliest': return earliest;
    case 'latest': return latest;
    case 'offset':
      return latest.map((_, p) => {
        const wanted = typeof bound.offsets === 'bigint' ? bound.offsets : bound.offsets.get(p);
        return wanted ?? unnamed[p]!;
      });
    case 'time': {
      const found = await listOffsets(consumer, topic, BigInt(bound.at));
      // -1: no record at or after the time, so the position is the end of the log.
      return latest.map((end, p) => (found[p] === undefined || found[p]! < 0n ? end : found[p]!));
    }
  }
}

const clamp = (value: bigint, low: bigint, high: bigint): bigint => (value < low ? low : value > high ? high : value);

function headersOf(pairs: Array<[Buffer | null, Buffer | null]>): Record<string, string> {
  const headers: Record<string, string> = {};
  for (const [k, v] of pairs) if (k !== null) headers[k.toString('utf8')] = v === null ? '' : v.toString('utf8');
  return headers;
}

/** Resolves the range of `topic` and returns a reader for it. */
export async function openTopicRange(settings: RangeReaderSettings, topic: string, from: RangeBound, to: RangeBound): Promise<TopicRangeReader> {
  const consumer: RawConsumer = new Consumer({
    // Required by the client's constructor; never used: this reader never joins, commits or fetches offsets of a group.
    groupId: `${settings.clientId}-no-group`,
    clientId: settings.clientId,
    bootstrapBrokers: settings.brokers,
    isolationLevel: FetchIsolationLevels.READ_COMMITTED,
    maxWaitTime: 50,
    minBytes: 1,
    maxBytes: 64 * 1024 * 1024,
    maxBytesPerPartition: settings.maxBytesPerPartition ?? 4 * 1024 * 1024,
    timeout: settings.timeoutMs ?? 30_000,
    retries: 5,
    retryDelay: 250,
  });
  let partitions: PartitionRange[];
  let topicId: string;
  try {
    consumer.topics.trackAll(topic);
    const metadata = await consumer.metadata({ topics: [topic] });
    const described = metadata.topics.get(topic);
    if (!described) throw new Error(`topic ${topic} does not exist`);
    topicId = described.id;
    const earliest = await listOffsets(consumer, topic, EARLIEST);
    const latest = await listOffsets(consumer, topic, LATEST);
    const starts = await resolveBound(consumer, topic, from, earliest, latest, earliest);
    const ends = await resolveBound(consumer, topic, to, earliest, latest, latest);
    partitions = latest.map((high, partition) => {
      const low = earliest[partition] ?? 0n;
      const end = clamp(ends[partition] ?? high, low, high);
      return { partition, start: clamp(starts[partition] ?? low, low, end), end };
    });
  } catch (error) {
    await consumer.close(true).catch(() => {});
    throw asMessagingError(error, `cannot resolve the range of ${topic}`);
  }
  const span = partitions.reduce((sum, p) => sum + (p.end - p.start), 0n);

  return {
    topic,
    partitions,
    span,
    async read(onBatch) {
      const next = new Map(partitions.filter((p) => p.start < p.end).map((p) => [p.partition, p.start]));
      const ends = new Map(partitions.map((p) => [p.partition, p.end]));
      let records = 0;
      while (next.size > 0) {
        const metadata = await consumer.metadata({ topics: [topic] });
        const byLeader = new Map<number, number[]>();
        for (const partition of next.keys()) {
          const leader = metadata.topics.get(topic)!.partitions[partition]!.leader;
          let list = byLeader.get(leader);
          if (!list) byLeader.set(leader, (list = []));
          list.push(partition);
        }
        for (const [node, wanted] of byLeader) {
          let response;
          try {
            response = await consumer.fetch({
              node,
              topics: [{
                topicId,
                partitions: wanted.map((partition) => ({
                  partition, fetchOffset: next.get(partition)!, partitionMaxBytes: settings.maxBytesPerPartition ?? 4 * 1024 * 1024,
                  currentLeaderEpoch: -1, lastFetchedEpoch: -1,
                })),
              }],
            });
          } catch (error) {
            throw asMessagingError(error, `fetch from ${topic} failed`);
          }
          for (const topicResponse of response.responses) {
            for (const part of topicResponse.partitions) {
              const partition = part.partitionIndex;
              const from = next.get(partition);
              if (from === undefined) continue;
              const end = ends.get(partition)!;
              const out: IncomingMessage[] = [];
              let position = from;
              for (const batch of part.records ?? []) {
                const batchEnd = batch.firstOffset + BigInt(batch.lastOffsetDelta) + 1n;
                if (batchEnd > position) position = batchEnd;
                if ((batch.attributes & IS_CONTROL) !== 0) continue;
                for (const record of batch.records) {
                  const offset = batch.firstOffset + BigInt(record.offsetDelta);
                  if (offset < from || offset >= end) continue;
                  out.push({
                    topic, partition, offset: offset.toString(),
                    key: record.key && record.key.length > 0 ? record.key : null,
                    value: record.value,
                    headers: headersOf(record.headers),
                    timestamp: Number(batch.firstTimestamp + record.timestampDelta),
                  });
                }
              }
              // Nothing more below the end: compaction gaps, transaction markers, or an end at the LSO.
              const exhausted = (part.records ?? []).length === 0 && (part.lastStableOffset <= from || part.highWatermark <= from);
              if (position >= end || exhausted) next.delete(partition);
              else next.set(partition, position);
              if (out.length > 0) {
                records += out.length;
                await onBatch(out);
              }
            }
          }
        }
      }
      return { records };
    },
    async close() {
      await consumer.close(true).catch(() => {});
    },
  };
}
