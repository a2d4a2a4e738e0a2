// Issue 5's benchmark: what signing and verifying approvals cost through the services, as ratios to
// the raw Ed25519 operations measured in the same run on the same machine.
//   signer consumer — N allow decisions pre-produced; the signer service (child process, local key)
//                     consumes them, signs, stores and emits each approval in Kafka transactions;
//                     timed from its first committed batch to the last; also per CPU-second of the
//                     signer process (its own user+system time in the window: "on one core").
//   raw sign        — crypto.sign over the same PAE bytes an approval signs, in a loop.
//   executor        — N valid approvals (dry-run commands) pre-produced with their key; the executor
//                     (child process) verifies each (all 11 checks), claims it in PostgreSQL, runs
//                     the handler and emits result + reply; timed and CPU-measured the same way.
//   raw verify      — crypto.verify over the same bytes, in a loop.
//   POST /sign      — open loop at RATE req/s for SECONDS s (after a warm-up), with an API key:
//                     "fresh" signs decisions the signer holds but has not signed yet (the signing
//                     path: lock, load, issueApproval, store); "stored" asks again for decisions
//                     already signed (returns the stored envelope); and a bare node:http server at
//                     the same rate as the baseline. Latency counts from when each request was due.
// Rounds are interleaved so that drift on a shared machine hits every variant alike.
import { generateKeyPairSync, sign as cryptoSign, verify as cryptoVerify } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { postgresSignerStore } from '../consumers/signer/store.ts';
import { preAuthEncoding } from '../src/approval/dsse.ts';
import { newKeyRecord } from '../src/approval/keys/rotation.ts';
import { issueApproval } from '../src/approval/sign.ts';
import { LocalEd25519Signer } from '../src/approval/signers/local.ts';
import { ApprovalSigned, DecisionMade, SigningKeyPublished, conversationKey } from '../src/contracts/events.ts';
import { createPool, ensureDatabase } from '../src/db/pg.ts';
import { migrate } from '../src/db/migrate.ts';
import type { Decision, SignedApprovalEvent } from '../src/domain/types.ts';
import { createMessaging } from '../src/kafka/client.ts';
import { EventPublisher } from '../src/kafka/publisher.ts';
import type { OutgoingMessage } from '../src/kafka/types.ts';
import { newTrace } from '../src/observability/trace.ts';
import { testDecision } from '../test/support/signer-service.ts';
import { startServiceProcess, type ServiceProcess } from '../test/support/service-process.ts';
import { benchBus, benchConfig, runId } from './lib/infra.ts';
import { bareHttpServer, openLoop, type LoadResult } from './lib/load.ts';
import { writeReport } from './lib/report.ts';
import { fmt, fmtInt, median, nowMs } from './lib/stats.ts';

const N = Number(process.env.BENCH_APPROVALS ?? 8000);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 2);
const RATE = Number(process.env.BENCH_RATE ?? 1000);
const SECONDS = Number(process.env.BENCH_SECONDS ?? 5);
const RAW_OPS = 20_000;
const API_KEY = 'bench-key-approvals-0123456789';
const DB = 'sentinel_bench';
const config = benchConfig();
const run = runId('apr');
const CLK_TCK = 100;

// ------------------------------------------------------------------------------------------- raw

const sample = testDecision(`${run}-sample`);
const probeKey = LocalEd25519Signer.generate();
const probe = await issueApproval(sample, [], probeKey, { now: Date.now(), nonce: 'AAAAAAAAAAAAAAAAAAAAAA', audience: 'aureus-executor', issuer: 'aureus-bridge' });
if (!probe.ok) throw new Error(probe.code);
const PAE = preAuthEncoding(probe.envelope.payloadType, probe.envelope.payload);
const { privateKey: rawPrivate, publicKey: rawPublic } = generateKeyPairSync('ed25519');
const rawSig = cryptoSign(null, PAE, rawPrivate);

function rawSignRate(): number {
  for (let i = 0; i < 2000; i++) cryptoSign(null, PAE, rawPrivate);
  const start = nowMs();
  for (let i = 0; i < RAW_OPS; i++) cryptoSign(null, PAE, rawPrivate);
  return RAW_OPS / ((nowMs() - start) / 1000);
}

function rawVerifyRate(): number {
  for (let i = 0; i < 2000; i++) cryptoVerify(null, PAE, rawPublic, rawSig);
  const start = nowMs();
  for (let i = 0; i < RAW_OPS; i++) if (!cryptoVerify(null, PAE, rawPublic, rawSig)) throw new Error('raw verify failed');
  return RAW_OPS / ((nowMs() - start) / 1000);
}

// ------------------------------------------------------------------------------------ consumers

function cpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / CLK_TCK; // utime, stime (fields 14 and 15)
}

interface ConsumerResult { rate: number; perCpuSecond: number; seconds: number; cpuSeconds: number; count: number }

/** Waits until the group committed `total` offsets on `topic`; times and CPU-measures from the first committed batch. */
async function timeConsumer(service: ServiceProcess, group: string, topic: string, total: number): Promise<ConsumerResult> {
  const messaging = createMessaging({ brokers: config.kafka.brokers, clientId: 'bench-apr', client: config.kafka.client });
  const admin = messaging.admin();
  const pid = service.child.pid!;
  let first: { at: number; committed: number; cpu: number } | null = null;
  const deadline = Date.now() + 600_000;
  try {
    while (Date.now() < deadline) {
      const rows = await admin.groupLag(group, [topic]).catch(() => []);
      const committed = rows.reduce((sum, row) => sum + (row.committed === '-1' ? 0 : Number(row.committed)), 0);
      if (committed > 0 && first === null) first = { at: nowMs(), committed, cpu: cpuSeconds(pid) };
      if (committed >= total && first !== null) {
        const seconds = (nowMs() - first.at) / 1000;
        const cpu = cpuSeconds(pid) - first.cpu;
        const count = total - first.committed;
        return { rate: count / seconds, perCpuSecond: count / cpu, seconds, cpuSeconds: cpu, count };
      }
      await new Promise((r) => setTimeout(r, 20));
    }
    throw new Error(`consumer did not finish: ${service.log()}`);
  } finally {
    await admin.close();
  }
}

async function produce(messages: OutgoingMessage[]): Promise<void> {
  const messaging = createMessaging({ brokers: config.kafka.brokers, clientId: 'bench-apr-p', client: config.kafka.client });
  const producer = messaging.producer();
  for (let i = 0; i < messages.length; i += 500) await producer.send(messages.slice(i, i + 500));
  await producer.close();
}

function port(): number {
  return 17_000 + Math.floor(Math.random() * 2000);
}

async function signerConsumer(round: number): Promise<ConsumerResult> {
  const bus = await benchBus(config, `signer${round}`);
  const publisher = new EventPublisher({ producer: { send: async () => {}, close: async () => {} }, codec: bus.codec, topicName: bus.topicName, producerName: 'bench' });
  const trace = newTrace();
  const decisions: Decision[] = Array.from({ length: N }, (_, i) => testDecision(`${bus.prefix}${i}`, {
    conversation: { channel: 'web', conversationId: `c${i % 64}` },
    action: { type: 'transfer', amountMinor: 100 + i, currency: 'USD', payee: `Payee ${i % 50}`, memo: null },
  }));
  await produce(decisions.map((d) => publisher.encode(DecisionMade, d, { key: conversationKey(d.conversation), trace })));
  const service = await startServiceProcess('consumers/signer/main.ts', port(), {
    TOPIC_PREFIX: bus.prefix, POSTGRES_DB: DB, REDIS_KEY_PREFIX: `bench:${run}:s${round}:`, INSTANCE_ID: `bench-signer-${round}`,
  });
  try {
    return await timeConsumer(service, `${bus.prefix}sentinel-signer`, bus.topicName('sentinel.decisions'), N);
  } finally {
    await service.stop();
    await bus.cleanup();
  }
}

async function executorConsumer(round: number): Promise<ConsumerResult> {
  const bus = await benchBus(config, `executor${round}`);
  const publisher = new EventPublisher({ producer: { send: async () => {}, close: async () => {} }, codec: bus.codec, topicName: bus.topicName, producerName: 'bench' });
  const trace = newTrace();
  const key = LocalEd25519Signer.generate();
  const record = newKeyRecord({ publicKey: key.publicKey, origin: 'local', now: Date.now() - 60_000 });
  await produce([publisher.encode(SigningKeyPublished, record, { key: record.keyId, trace })]);
  const now = Date.now();
  const approvals: SignedApprovalEvent[] = [];
  for (let i = 0; i < N; i++) {
    const decision = testDecision(`${bus.prefix}${i}`, { conversation: { channel: 'web', conversationId: `c${i % 64}` }, action: { type: 'command_run', host: 'build-01', command: 'uptime' } });
    const issued = await issueApproval(decision, [], key, { now, nonce: Buffer.from(`n${i}`.padEnd(16, '.')).toString('base64url'), audience: 'aureus-executor', issuer: 'aureus-bridge' });
    if (!issued.ok) throw new Error(issued.code);
    approvals.push(issued.event);
  }
  await produce(approvals.map((a) => publisher.encode(ApprovalSigned, a, { key: conversationKey(a.conversation), trace })));
  const service = await startServiceProcess('consumers/executor/main.ts', port(), {
    TOPIC_PREFIX: bus.prefix, POSTGRES_DB: DB, REDIS_KEY_PREFIX: `bench:${run}:e${round}:`, INSTANCE_ID: `bench-executor-${round}`,
  });
  try {
    return await timeConsumer(service, `${bus.prefix}sentinel-executor`, bus.topicName('sentinel.approvals'), N);
  } finally {
    await service.stop();
    await bus.cleanup();
  }
}

// ----------------------------------------------------------------------------------- POST /sign

interface HttpRound { fresh: LoadResult; stored: LoadResult; bare: LoadResult }

async function postSign(round: number): Promise<HttpRound> {
  const bus = await benchBus(config, `sign${round}`);
  const service = await startServiceProcess('consumers/signer/main.ts', port(), {
    TOPIC_PREFIX: bus.prefix, POSTGRES_DB: DB, REDIS_KEY_PREFIX: `bench:${run}:h${round}:`, INSTANCE_ID: `bench-signer-http-${round}`,
    API_KEY, RATE_LIMIT_MAX_REQUESTS: '10000000',
  });
  // Decisions the signer holds but has not signed: as if received and not yet processed.
  const pool = createPool({ ...config.postgres, database: DB }, { max: 2 });
  const store = postgresSignerStore(pool);
  const count = Math.round(RATE * (SECONDS + 2));
  const decisions = Array.from({ length: count }, (_, i) => testDecision(`${bus.prefix}h${i}`));
  for (let i = 0; i < decisions.length; i += 1000) {
    await store.withDecisions([], (tx) => tx.saveDecisions(decisions.slice(i, i + 1000).map((decision) => ({ decision, status: 'pending' as const, statusCode: null }))));
  }
  await pool.end();
  const target = (offset: number) => ({
    url: `${service.url}/sign`,
    headers: { authorization: `Bearer ${API_KEY}` },
    body: (i: number) => JSON.stringify({ decisionId: decisions[(offset + i) % decisions.length]!.decisionId }),
  });
  try {
    await openLoop(target(0), RATE, 2); // warm-up: signs the first 2 s worth
    const fresh = await openLoop(target(2 * RATE), RATE, SECONDS);
    const stored = await openLoop(target(2 * RATE), RATE, SECONDS);
    const bareServer = await bareHttpServer();
    const bare = await openLoop({ url: bareServer.url, body: target(0).body }, RATE, SECONDS);
    await bareServer.close();
    return { fresh, stored, bare };
  } finally {
    await service.stop();
    await bus.cleanup();
  }
}

// ---------------------------------------------------------------------------------------- main

const pool = createPool({ ...config.postgres, database: DB }, { max: 1 });
await pool.query('SELECT 1').catch(async () => { await ensureDatabase({ ...config.postgres, database: DB }); });
await migrate(pool);
await pool.end();

const results = { rawSign: [] as number[], rawVerify: [] as number[], signer: [] as ConsumerResult[], executor: [] as ConsumerResult[], http: [] as HttpRound[] };
for (let round = 0; round < ROUNDS; round++) {
  results.rawSign.push(rawSignRate());
  results.signer.push(await signerConsumer(round));
  results.rawVerify.push(rawVerifyRate());
  results.executor.push(await executorConsumer(round));
  results.rawSign.push(rawSignRate());
  results.rawVerify.push(rawVerifyRate());
  results.http.push(await postSign(round));
}

const sign = median(results.rawSign);
const verify = median(results.rawVerify);
const signer = { rate: median(results.signer.map((r) => r.rate)), cpu: median(results.signer.map((r) => r.perCpuSecond)) };
const executor = { rate: median(results.executor.map((r) => r.rate)), cpu: median(results.executor.map((r) => r.perCpuSecond)) };
const lat = (pick: (h: HttpRound) => LoadResult, q: 'p50' | 'p95' | 'p99' | 'max') => median(results.http.map((h) => pick(h).latency[q]));
const achieved = (pick: (h: HttpRound) => LoadResult) => median(results.http.map((h) => pick(h).achievedRate));
const statuses = (pick: (h: HttpRound) => LoadResult) => JSON.stringify(results.http.map((h) => pick(h).statuses));
const httpRow = (name: string, pick: (h: HttpRound) => LoadResult) => [name, fmtInt(achieved(pick)), fmt(lat(pick, 'p50')), fmt(lat(pick, 'p95')), fmt(lat(pick, 'p99')), fmt(lat(pick, 'max')), statuses(pick)];

writeReport('approvals',
  `${N.toLocaleString('en-US')} approvals per consumer round, ${ROUNDS} interleaved rounds (medians), one local broker, PostgreSQL and Redis on the same machine; ` +
  'each service runs as its own process (local Ed25519 key), timed from its first committed batch to the last (committed offsets polled every 20 ms). ' +
  '"per CPU-second" divides by the service process\'s own user+system CPU time in that window (what one core of it does). ' +
  `Raw baselines: node:crypto sign / verify over the ${PAE.length}-byte PAE of a real approval, ${RAW_OPS.toLocaleString('en-US')} operations, in this process. ` +
  `POST /sign: open loop at ${RATE} req/s for ${SECONDS} s after a 2 s warm-up, API key and the Redis rate limiter on the path; latency counted from when each request was due. ` +
  'The machine is shared and noisy (2 vCPU, other work running): absolute numbers move between runs, ratios less.',
  [
    {
      title: 'Signing and verifying through the services vs raw Ed25519 (same run)', columns: ['measure', 'approvals/s (wall clock)', 'ratio to raw', 'approvals per CPU-second', 'ratio to raw'], rows: [
        ['raw crypto.sign (baseline)', fmtInt(sign), '1.000', fmtInt(sign), '1.000'],
        ['signer consumer: decision → signed approval (stored, emitted, committed)', fmtInt(signer.rate), fmt(signer.rate / sign, 3), fmtInt(signer.cpu), fmt(signer.cpu / sign, 3)],
        ['raw crypto.verify (baseline)', fmtInt(verify), '1.000', fmtInt(verify), '1.000'],
        ['executor: approval → verified, claimed, executed (dry run), emitted', fmtInt(executor.rate), fmt(executor.rate / verify, 3), fmtInt(executor.cpu), fmt(executor.cpu / verify, 3)],
      ],
    },
    {
      title: `POST /sign at ${RATE} req/s (open loop), and a bare node:http server at the same rate`, columns: ['server', 'achieved req/s', 'p50 ms', 'p95 ms', 'p99 ms', 'max ms', 'statuses per round'], rows: [
        httpRow('POST /sign, fresh (signs)', (h) => h.fresh),
        httpRow('POST /sign, stored envelope', (h) => h.stored),
        httpRow('bare node:http (baseline)', (h) => h.bare),
      ],
    },
  ],
  results,
  [
    { measure: 'signer consumer approvals per CPU-second', value: signer.cpu, unit: '/s', baseline: 'raw crypto.sign', baselineValue: sign, ratio: signer.cpu / sign, goal: '>= 50 % of raw sign on one core', met: signer.cpu / sign >= 0.5 },
    { measure: 'signer consumer approvals/s (wall clock)', value: signer.rate, unit: '/s', baseline: 'raw crypto.sign', baselineValue: sign, ratio: signer.rate / sign, goal: 'seed: 500 signatures/s', met: signer.rate >= 500 },
    { measure: 'executor verified approvals/s (wall clock)', value: executor.rate, unit: '/s', baseline: 'raw crypto.verify', baselineValue: verify, ratio: executor.rate / verify, goal: '(none set)', met: true },
    { measure: `POST /sign p99 at ${RATE} req/s (fresh)`, value: lat((h) => h.fresh, 'p99'), unit: 'ms', baseline: 'bare node:http p99', baselineValue: lat((h) => h.bare, 'p99'), ratio: lat((h) => h.fresh, 'p99') / lat((h) => h.bare, 'p99'), goal: 'p99 < 5 ms at 1,000 req/s', met: lat((h) => h.fresh, 'p99') < 5 && achieved((h) => h.fresh) >= RATE * 0.95 },
  ]);
process.exit(0);
