// Issue 8's benchmark: what `sentinel replay` costs over a plain consume of the same topics in the
// same run. A recorded run (intents, decisions from the real policy, approvals signed with a local
// key, executions) is produced once; then, interleaved per round:
//   plain consume      — @platformatic/kafka stream consumer, fresh group, raw bytes (the baseline);
//   range reader, raw  — the replay's group-less reader (src/replay/source.ts) without decoding;
//   approvals replay   — read + registry decode + full verification of every approval (docs §8);
//   full replay        — all five pipeline topics: decode, re-verify approvals, re-evaluate every
//                        decision with its constitution, join flows (what `sentinel replay` runs);
// and, for the approvals, raw node:crypto Ed25519 verifications of the same signatures in a loop.
import { verify as cryptoVerify } from 'node:crypto';
import { Consumer } from '@platformatic/kafka';
import { preAuthEncoding } from '../src/approval/dsse.ts';
import { createKeyRegistry } from '../src/approval/keys/registry.ts';
import { keyTimeline } from '../src/audit/key-timeline.ts';
import { PIPELINE_ORDER, runReplay, type ReplayContext } from '../src/replay/run.ts';
import { openTopicRange } from '../src/replay/source.ts';
import { createMessaging } from '../src/kafka/client.ts';
import { buildRecordedRun, runPublisher } from '../test/support/recorded-run.ts';
import { benchBus, benchConfig, runId } from './lib/infra.ts';
import { writeReport } from './lib/report.ts';
import { fmt, fmtInt, median, nowMs } from './lib/stats.ts';

const FLOWS = Number(process.env.BENCH_REPLAY_FLOWS ?? 8000);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 2);
const PARTITIONS = 3;
const config = benchConfig();

async function waitUntil(check: () => boolean, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out: ${what}`);
    await new Promise((r) => setTimeout(r, 2));
  }
}

/** The baseline: a plain group consumer reading `expected` raw records of the topics from the start. */
async function plainConsume(topics: string[], expected: number): Promise<number> {
  const consumer = new Consumer({ groupId: runId('plain'), clientId: 'bench-plain', bootstrapBrokers: config.kafka.brokers, maxWaitTime: 50 });
  let consumed = 0;
  const t0 = nowMs();
  const stream = await consumer.consume({ topics, mode: 'earliest', autocommit: false });
  stream.on('data', () => { consumed++; });
  await waitUntil(() => consumed >= expected, 120_000, 'plain consume');
  const rate = expected / ((nowMs() - t0) / 1000);
  await stream.close();
  await consumer.close(true);
  return rate;
}

async function rawRange(topic: string): Promise<number> {
  const t0 = nowMs();
  const reader = await openTopicRange({ brokers: config.kafka.brokers, clientId: 'bench-range' }, topic, { kind: 'earliest' }, { kind: 'latest' });
  const { records } = await reader.read(() => {});
  const rate = records / ((nowMs() - t0) / 1000);
  await reader.close();
  return rate;
}

async function main(): Promise<void> {
  const bus = await benchBus(config, 'replay', PARTITIONS);
  const run = await buildRecordedRun({ count: FLOWS, now: Date.now() - 60_000 });
  const counts = { intents: run.intents.length, decisions: run.decisions.length, approvals: run.approvals.length, executions: run.executions.length, responses: run.responses.length };
  const total = counts.intents + counts.decisions + counts.approvals + counts.executions + counts.responses;
  process.stderr.write(`[bench] producing ${fmtInt(total)} records (${fmtInt(counts.approvals)} approvals)\n`);
  const producer = createMessaging({ brokers: config.kafka.brokers, clientId: 'bench-replay', client: config.kafka.client }).producer();
  const publish = runPublisher({ producer: () => producer, topicName: bus.topicName }, bus.codec);
  await publish.key(run.keyRecord);
  const chunks = async <T>(items: T[], send: (x: T) => Promise<void>) => {
    for (let i = 0; i < items.length; i += 250) await Promise.all(items.slice(i, i + 250).map(send));
  };
  await chunks(run.intents, publish.intent);
  await chunks(run.decisions, publish.decision);
  await chunks(run.responses, publish.response);
  await chunks(run.approvals, publish.approval);
  await chunks(run.executions, publish.execution);
  await producer.close();

  const keys = keyTimeline(createKeyRegistry([run.keyRecord]));
  const ctx = (): ReplayContext => ({ brokers: config.kafka.brokers, clientId: 'bench-replay', topicPrefix: bus.prefix, codec: bus.codec, progress: null });
  const analyzer = { ruleSets: new Map([[run.ruleSet.digest, run.ruleSet]]), audience: 'aureus-executor', issuers: ['aureus-bridge'], clockSkewMs: 30_000, maxTtlMs: 900_000 };
  const approvalsTopic = bus.topicName('sentinel.approvals');
  const pipelineTopics = PIPELINE_ORDER.map((t) => bus.topicName(t));

  // node:crypto baseline: the same signatures over the same PAE bytes, verified in a loop.
  const key = keys.latest.entries.get(run.keyRecord.keyId)!.key;
  const signed = run.approvals.map((a) => ({ message: preAuthEncoding(a.envelope.payloadType, a.envelope.payload), sig: a.envelope.signatures[0]!.sig }));
  const cryptoRate = () => {
    const t0 = nowMs();
    for (const s of signed) if (!cryptoVerify(null, s.message, key, s.sig)) throw new Error('bad fixture signature');
    return signed.length / ((nowMs() - t0) / 1000);
  };

  const results: Record<string, number[]> = { plainApprovals: [], rangeApprovals: [], replayApprovals: [], plainPipeline: [], replayPipeline: [], crypto: [], findings: [] };
  for (let round = 0; round < ROUNDS; round++) {
    results.crypto!.push(cryptoRate());
    results.plainApprovals!.push(await plainConsume([approvalsTopic], counts.approvals));
    results.rangeApprovals!.push(await rawRange(approvalsTopic));
    let t0 = nowMs();
    const approvalsOnly = await runReplay(ctx(), { from: { kind: 'earliest' }, to: { kind: 'latest' }, topics: ['sentinel.approvals'], keys, analyzer, referenceTime: Date.now(), graceMs: 0 });
    results.replayApprovals!.push(approvalsOnly.stats.approvals.verified / ((nowMs() - t0) / 1000));
    results.plainPipeline!.push(await plainConsume(pipelineTopics, total));
    t0 = nowMs();
    const full = await runReplay(ctx(), { from: { kind: 'earliest' }, to: { kind: 'latest' }, topics: [...PIPELINE_ORDER], keys, analyzer, referenceTime: Date.now(), graceMs: 0 });
    const records = Object.values(full.stats.records).reduce((a, b) => a + b, 0);
    results.replayPipeline!.push(records / ((nowMs() - t0) / 1000));
    results.findings!.push(full.findings.length);
    if (full.findings.length > 0) process.stderr.write(`[bench] unexpected findings: ${JSON.stringify(full.findings.slice(0, 3))}\n`);
  }
  await bus.cleanup();

  const m = (name: string) => median(results[name]!);
  const ratio = (a: string, b: string) => m(a) / m(b);
  writeReport('replay',
    `${fmtInt(FLOWS)} recorded flows = ${fmtInt(total)} records on five pipeline topics (${fmtInt(counts.approvals)} approvals, ${fmtInt(counts.decisions)} decisions), ` +
    `${PARTITIONS} partitions, one local broker. Every rate is records (or approvals) per second from opening the reader to the last record; ` +
    `the baseline is a plain @platformatic/kafka consumer reading the same topics' raw bytes in the same round. Medians of ${ROUNDS} interleaved rounds; ` +
    `findings in the full replays: ${results.findings!.join(', ')} (a recorded run must have none).`,
    [
      {
        title: 'Approvals topic',
        columns: ['reader', 'records/s', 'ratio to plain consume'],
        rows: [
          ['plain consume, raw bytes (baseline)', fmtInt(m('plainApprovals')), '1.00'],
          ['replay range reader, raw bytes (no consumer group)', fmtInt(m('rangeApprovals')), fmt(ratio('rangeApprovals', 'plainApprovals'))],
          ['replay: decode + verify every approval (verified approvals/s)', fmtInt(m('replayApprovals')), fmt(ratio('replayApprovals', 'plainApprovals'))],
          ['node:crypto Ed25519 verify alone, same signatures (CPU bound)', fmtInt(m('crypto')), fmt(ratio('crypto', 'plainApprovals'))],
        ],
      },
      {
        title: 'Full replay of the five pipeline topics',
        columns: ['reader', 'records/s', 'ratio to plain consume'],
        rows: [
          ['plain consume of the five topics, raw bytes (baseline)', fmtInt(m('plainPipeline')), '1.00'],
          ['sentinel replay: decode, re-verify, re-evaluate, join', fmtInt(m('replayPipeline')), fmt(ratio('replayPipeline', 'plainPipeline'))],
        ],
      },
    ],
    { flows: FLOWS, counts, total, results },
    [
      { measure: 'verified approvals/s (replay)', value: m('replayApprovals'), unit: '/s', baseline: 'plain consume of the approvals topic', baselineValue: m('plainApprovals'), ratio: ratio('replayApprovals', 'plainApprovals'), goal: 'informs replay sizing', met: true },
      { measure: 'records/s (full replay, 5 topics)', value: m('replayPipeline'), unit: '/s', baseline: 'plain consume of the same topics', baselineValue: m('plainPipeline'), ratio: ratio('replayPipeline', 'plainPipeline'), goal: 'informs replay sizing; 0 findings', met: results.findings!.every((f) => f === 0) },
    ]);
}

await main();
process.exit(0);
