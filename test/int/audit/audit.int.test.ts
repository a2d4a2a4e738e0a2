// The audit consumer on the real broker, registry and PostgreSQL: a recorded run becomes a hash
// chain with signed checkpoints (in audit_log and on sentinel.audit); redelivery appends nothing;
// `sentinel audit verify` passes, the table refuses updates, and a row edited behind the guard is
// reported as the first broken link; `sentinel audit export` writes every link as JSON Lines.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import { fileURLToPath } from 'node:url';
import { auditRuntimeOptions, buildAuditService } from '../../../consumers/audit/service.ts';
import { ChainVerifier } from '../../../src/audit/chain.ts';
import { AuditStore } from '../../../src/audit/store.ts';
import { AuditRecorded, IntentSubmitted, intentKey } from '../../../src/contracts/events.ts';
import type { Config } from '../../../src/config/index.ts';
import { createPool, type Pool } from '../../../src/db/pg.ts';
import { EventPublisher } from '../../../src/kafka/publisher.ts';
import { newTrace } from '../../../src/observability/trace.ts';
import { loadKeyTimeline } from '../../../src/replay/run.ts';
import { createTestBus, uniqueName, type TestBus } from '../../support/kafka.ts';
import { AUDIT_TEST_DATABASE, auditPool, auditTestConfig, buildRecordedRun, publishRun } from '../../support/recorded-run.ts';
import { serviceEnv, startRuntime } from '../../support/services.ts';
import { waitFor } from '../../support/wait.ts';

const CLI = fileURLToPath(new URL('../../../src/cli/main.ts', import.meta.url));

function cli(bus: TestBus, args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI, ...args], {
      env: { ...process.env, TOPIC_PREFIX: bus.prefix, POSTGRES_DB: AUDIT_TEST_DATABASE, LOG_LEVEL: 'silent' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => { stdout += d.toString(); });
    child.stderr.on('data', (d: Buffer) => { stderr += d.toString(); });
    child.on('error', reject);
    child.on('close', (code) => resolve({ code: code ?? -1, stdout, stderr }));
  });
}

async function count(pool: Pool, chainId: string): Promise<number> {
  const { rows } = await pool.query<{ n: string }>('SELECT count(*) AS n FROM audit_log WHERE chain_id = $1', [chainId]);
  return Number(rows[0]!.n);
}

/** The chain's rows are removed after the test (behind the append-only guard, as only a superuser can). */
function removeChainAfter(t: TestContext, config: Config, chainId: string): void {
  t.after(async () => {
    const pool = createPool(config.postgres, { max: 1 });
    const client = await pool.connect();
    try {
      await client.query('SET session_replication_role = replica');
      await client.query('DELETE FROM audit_log WHERE chain_id = $1', [chainId]);
      await client.query('DELETE FROM audit_heads WHERE chain_id = $1', [chainId]);
      await client.query('DELETE FROM audit_publications WHERE chain_id = $1', [chainId]);
    } finally {
      await client.query('RESET session_replication_role').catch(() => {});
      client.release();
      await pool.end();
    }
  });
}

test('the audit consumer chains a recorded run; verify finds the one row edited in PostgreSQL', { timeout: 120_000 }, async (t) => {
  const config = await auditTestConfig();
  const bus = await createTestBus(t, config);
  const codec = await bus.codec();
  const pool = await auditPool(t);
  const chainId = uniqueName('chain');
  removeChainAfter(t, config, chainId);

  const run = await buildRecordedRun({ count: 14, now: Date.now() });
  const runtime = await startRuntime(t, { service: 'cli', ...auditRuntimeOptions }, serviceEnv(bus, { POSTGRES_DB: AUDIT_TEST_DATABASE }));
  const service = await buildAuditService(runtime, { signer: run.signer, chainId, policy: { every: 10, intervalMs: 1500 } });
  await service.start();

  await publishRun(bus, codec, run);
  const events = run.intents.length + run.decisions.length + run.responses.length + run.approvals.length + run.executions.length;
  await waitFor(async () => {
    const rows = await pool.query<{ n: string }>("SELECT count(*) AS n FROM audit_log WHERE chain_id = $1 AND kind <> 'checkpoint'", [chainId]);
    return Number(rows.rows[0]!.n) === events;
  }, { timeoutMs: 60_000, what: `${events} audited events` });

  // A checkpoint is taken by the timer once the interval has passed, and published.
  await new Promise((resolve) => setTimeout(resolve, 1600));
  await service.tick();
  const store = new AuditStore(pool, chainId);
  const links = [];
  for await (const link of store.links()) links.push(link);
  assert.equal(links.length, await count(pool, chainId));
  assert.deepEqual(links.map((l) => l.sequence), links.map((_, i) => i + 1));
  assert.equal(links.at(-1)!.kind, 'checkpoint', 'the timer checkpoint covers the tail');
  assert.ok(links.filter((l) => l.kind === 'checkpoint').length >= 2);
  const kinds = new Set(links.map((l) => l.kind));
  for (const kind of ['intent', 'decision', 'human_approval', 'approval', 'execution', 'checkpoint']) assert.ok(kinds.has(kind as never), kind);

  // The audit topic carries the same links (keyed by chain), decodable through the registry.
  const onTopic = await bus.readAll(bus.topicName(AuditRecorded.topic), links.length, { timeoutMs: 30_000 });
  const decoded = await Promise.all(onTopic.map(async (m) => AuditRecorded.fromAvro((await codec.decode<Record<string, unknown>>(m.topic, m.value!)).value).data));
  const bySequence = new Map(decoded.map((d) => [d.sequence, d]));
  assert.equal(bySequence.size, links.length);
  for (const link of links) {
    assert.equal(bySequence.get(link.sequence)!.hash, link.hash);
    assert.equal(bySequence.get(link.sequence)!.chainId, chainId);
  }
  assert.ok(onTopic.every((m) => m.key?.toString() === chainId));

  // Redelivery of an event already recorded appends nothing.
  const publisher = new EventPublisher({ producer: bus.producer(), codec, topicName: bus.topicName, producerName: 'test' });
  const firstIntent = links.find((l) => l.kind === 'intent')!;
  await publisher.publish(IntentSubmitted, run.intents.find((i) => i.intentId === firstIntent.subjectId)!, { key: intentKey(run.intents[0]!), trace: newTrace(), eventId: firstIntent.eventId });
  await bus.readAll(bus.topicName(AuditRecorded.topic), links.length + 1, { timeoutMs: 30_000 }); // its link is emitted again
  assert.equal(await count(pool, chainId), links.length);

  // verify: intact.
  const verified = await cli(bus, ['audit', 'verify', '--chain', chainId, '--quiet']);
  assert.equal(verified.code, 0, verified.stdout + verified.stderr);
  assert.match(verified.stdout, new RegExp(`audit chain ${chainId}: intact`));
  assert.match(verified.stdout, /#\d+\s+0\s+0\n$/, 'no unsigned tail, no problems');

  // The table refuses changes.
  await assert.rejects(pool.query("UPDATE audit_log SET record_json = '{}' WHERE chain_id = $1 AND sequence = 3", [chainId]), /append-only/);
  await assert.rejects(pool.query('DELETE FROM audit_log WHERE chain_id = $1 AND sequence = 3', [chainId]), /append-only/);

  // Someone with the power to bypass the guard edits one row: the chain shows exactly where.
  const target = links.find((l) => l.kind === 'approval')!;
  const client = await pool.connect();
  try {
    await client.query('SET session_replication_role = replica');
    const edited = target.recordJson.replace('"sentinel.approvals"', '"sentinel.approvals-x"');
    assert.notEqual(edited, target.recordJson);
    await client.query('UPDATE audit_log SET record_json = $3 WHERE chain_id = $1 AND sequence = $2', [chainId, target.sequence, edited]);
  } finally {
    await client.query('RESET session_replication_role');
    client.release();
  }
  const broken = await cli(bus, ['audit', 'verify', '--chain', chainId, '--quiet', '--jsonl', '-']);
  assert.equal(broken.code, 3, broken.stdout + broken.stderr);
  assert.match(broken.stderr, new RegExp(`first broken link: #${target.sequence} hash_mismatch`));
  const problems = broken.stdout.trim().split('\n').map((l) => JSON.parse(l) as { kind: string; sequence?: number; problem?: string });
  assert.deepEqual(problems.filter((p) => p.kind === 'chain_problem').map((p) => [p.sequence, p.problem]), [[target.sequence, 'hash_mismatch']]);

  // The same verification in-process, with the key registry read from sentinel.signing-keys.
  const { keys } = await loadKeyTimeline({ brokers: config.kafka.brokers, clientId: 'audit-test', topicPrefix: bus.prefix, codec, progress: null });
  const verifier = new ChainVerifier(chainId, keys);
  for await (const link of store.links()) verifier.push(link);
  assert.equal(verifier.finish(await store.head()).firstBreak?.sequence, target.sequence);

  // Export: one JSON line per link.
  const dir = mkdtempSync(join(tmpdir(), 'audit-export-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const exported = await cli(bus, ['audit', 'export', '--chain', chainId, '--out', join(dir, 'audit.jsonl')]);
  assert.equal(exported.code, 0, exported.stderr);
  const lines = readFileSync(join(dir, 'audit.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { kind: string; sequence: number; hash: string; record: unknown; checkpoint: unknown });
  assert.equal(lines.length, links.length);
  assert.deepEqual(lines.map((l) => l.hash), links.map((l) => l.hash));
  assert.ok(lines.every((l) => l.kind === 'audit_link' && l.record !== null));
  assert.ok(lines.some((l) => l.checkpoint !== null));
});
