// The executor on the real broker, registry, PostgreSQL and Redis: approvals verified against the
// key topic and run exactly once through the handlers; 10,000+ mutated approvals all refused with
// the expected code; two instances and a replayed topic; SIGKILL between the PostgreSQL commit and
// the offset commit; PostgreSQL cut and restored; and the whole path from a decision through the
// signer to the executor.
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { randomUUID } from 'node:crypto';
import { test } from 'node:test';
import kafkajs from 'kafkajs';
import { MUTATION_KINDS, createMutationScenario, generateMutations, type Mutation } from '../../../src/approval/testing/mutate.ts';
import { ApprovalSigned, conversationKey } from '../../../src/contracts/events.ts';
import type { Action, ExecutionResult, SignedApprovalEvent } from '../../../src/domain/types.ts';
import { EVENT_HEADERS } from '../../../src/kafka/headers.ts';
import { newTrace } from '../../../src/observability/trace.ts';
import {
  approvalMessages, executionRows, executorDb, ledgerRows, publishKeys, sendAll, signedApproval, startExecutorService, testKey,
  EXECUTOR_TEST_DB,
} from '../../support/executor-service.ts';
import { requireServices } from '../../support/infra.ts';
import { createTestBus, uniqueName, type TestBus } from '../../support/kafka.ts';
import { publishDecision, publisherFor, startSignerService, testDecision } from '../../support/signer-service.ts';
import { TcpProxy } from '../../support/tcp-proxy.ts';
import { TopicWatcher } from '../../support/watch.ts';
import { sleep, waitFor } from '../../support/wait.ts';

const API_KEY = 'test-key-executor-1';
const transfer = (amountMinor: number, payee = 'Bob'): Action => ({ type: 'transfer', amountMinor, currency: 'USD', payee, memo: null });

function byApproval(results: ReadonlyArray<{ data: ExecutionResult }>, approvalId: string): ExecutionResult[] {
  return results.map((r) => r.data).filter((r) => r.approvalId === approvalId);
}

test('verified approvals run once through their handler (ledger, message, dry-run command, no handler for tool calls); refusals are emitted, audited and told; GET /api/executions; /ready', async (t) => {
  const config = await requireServices('kafka', 'registry', 'postgres', 'redis');
  const bus = await createTestBus(t, config);
  const codec = await bus.codec();
  const watch = await TopicWatcher.start(t, bus, codec, ['executions', 'replies']);
  const publisher = publisherFor(bus, codec);
  const key = testKey();
  await publishKeys(publisher, [key.record]);
  const { url, service, runtime } = await startExecutorService(t, bus, { API_KEY });
  const db = executorDb(t, config);
  const label = uniqueName('exec');
  const approvals = [
    await signedApproval(key.signer, `${label}-t`, transfer(12_345)),
    await signedApproval(key.signer, `${label}-m`, { type: 'message_send', medium: 'email', recipient: 'bob@example.com', subject: 'Q3', body: 'Numbers attached.' }),
    await signedApproval(key.signer, `${label}-c`, { type: 'command_run', host: 'build-01', command: 'df -h' }),
    await signedApproval(key.signer, `${label}-x`, { type: 'command_run', host: 'build-01', command: 'rm -rf /' }),
    await signedApproval(key.signer, `${label}-tool`, { type: 'tool_call', tool: 'calendar.read', argumentsJson: '{}' }),
  ];
  const forged = { ...approvals[0]!, action: transfer(99_999_999, 'Mallory') };
  // A key published right before an approval signed with it (as after a rotation).
  const rotated = testKey();
  const afterRotation = await signedApproval(rotated.signer, `${label}-rot`, transfer(100));
  await sendAll(bus.producer(), approvalMessages(publisher, [...approvals, forged]));
  await publishKeys(publisher, [rotated.record]);
  await sendAll(bus.producer(), approvalMessages(publisher, [afterRotation]));
  await watch.until('7 results', () => watch.executions.length >= 7);
  const result = (a: SignedApprovalEvent) => byApproval(watch.executions, a.approvalId);

  const [t1, m1, c1, x1, tool1] = approvals.map((a) => result(a));
  assert.equal(t1!.filter((r) => r.status === 'executed').length, 1);
  assert.equal(t1!.filter((r) => r.status === 'refused').length, 1, 'the forged copy (another action) is refused');
  assert.equal(t1!.find((r) => r.status === 'refused')!.code, 'SNT_APPROVAL_DIGEST_MISMATCH');
  assert.match(t1!.find((r) => r.status === 'executed')!.reason, /^123\.45 USD moved from user:alice to payee:bob \(simulated ledger\) \(allowed by policy\)$/);
  assert.deepEqual([...(await ledgerRows(db, [approvals[0]!.approvalId])).values()], [2], 'one transfer: two ledger entries');
  const { rows: entries } = await db.query<{ account: string; amount_minor: string }>('SELECT account, amount_minor FROM executor_ledger_entries WHERE approval_id = $1 ORDER BY amount_minor', [approvals[0]!.approvalId]);
  assert.deepEqual(entries.map((e) => [e.account, Number(e.amount_minor)]), [['user:alice', -12_345], ['payee:bob', 12_345]]);
  assert.equal(m1![0]!.status, 'executed');
  const sent = watch.replies.map((r) => r.data).find((r) => r.intentId === approvals[1]!.intentId && r.text.startsWith('Message sent'));
  assert.ok(sent, 'the message is delivered through the channels');
  assert.equal(sent.text, 'Message sent (email) to bob@example.com — Q3:\nNumbers attached.');
  assert.equal((await db.query('SELECT 1 FROM executor_messages WHERE approval_id = $1', [approvals[1]!.approvalId])).rowCount, 1);
  assert.equal(c1![0]!.status, 'executed');
  assert.deepEqual(JSON.parse(c1![0]!.resultJson!), { summary: 'dry run: would run ["df","-h"] on build-01 (COMMAND_EXECUTE=false)', dryRun: true, host: 'build-01', argv: ['df', '-h'] });
  assert.deepEqual([x1![0]!.status, x1![0]!.code], ['failed', 'SNT_EXEC_COMMAND_NOT_ALLOWED']);
  assert.deepEqual([tool1![0]!.status, tool1![0]!.code], ['failed', 'SNT_EXEC_NO_HANDLER']);
  assert.equal(result(afterRotation)[0]!.status, 'executed', 'a key published moments before its first approval is found');

  // Every result is told to its conversation; refusals are audited in PostgreSQL.
  const outcome = watch.replies.map((r) => r.data).find((r) => r.replyId && r.intentId === approvals[0]!.intentId && r.text.startsWith('Not executed'));
  assert.match(outcome!.text, /^Not executed: transfer 999,999\.99 USD to Mallory\. The approval was refused: the approval was signed for another action\. \(SNT_APPROVAL_DIGEST_MISMATCH\)$/);
  const audit = await db.query<{ code: string; check_name: string }>('SELECT code, check_name FROM executor_refusals WHERE intent_id = $1', [approvals[0]!.intentId]);
  assert.deepEqual(audit.rows, [{ code: 'SNT_APPROVAL_DIGEST_MISMATCH', check_name: 'binding' }]);

  const api = await fetch(`${url}/api/executions?intentId=${approvals[0]!.intentId}`, { headers: { authorization: `Bearer ${API_KEY}` } });
  const listed = ((await api.json()) as { executions: ExecutionResult[] }).executions;
  assert.deepEqual(listed.map((r) => r.status).sort(), ['executed', 'refused']);
  assert.equal((await fetch(`${url}/api/executions?intentId=x`)).status, 401);
  assert.equal((await fetch(`${url}/api/executions`, { headers: { authorization: `Bearer ${API_KEY}` } })).status, 400);
  const ready = (await (await fetch(`${url}/ready`)).json()) as { checks: Record<string, { ok: boolean }> };
  assert.equal(ready.checks['key-registry']!.ok, true);
  const metrics = await (await fetch(`${url}/metrics`)).text();
  assert.match(metrics, /sentinel_executor_verified_total\{[^}]*\} 6/);
  assert.match(metrics, /sentinel_executor_refusals_total\{code="SNT_APPROVAL_DIGEST_MISMATCH"[^}]*\} 1/);
  assert.match(metrics, /sentinel_executor_executions_total\{status="executed",action="transfer"[^}]*\} 2/);

  // The key reader's group (unique to this instance, never committed) is deleted on shutdown.
  const keyGroup = service.keyReader.groupId;
  const kafka = new kafkajs.Kafka({ clientId: 'test-groups', brokers: config.kafka.brokers, logLevel: kafkajs.logLevel.NOTHING });
  const admin = kafka.admin();
  await admin.connect();
  t.after(() => admin.disconnect());
  assert.ok((await admin.listGroups()).groups.some((g) => g.groupId === keyGroup), 'the key reader has its own group while running');
  await runtime.shutdown('test done');
  assert.ok(!(await admin.listGroups()).groups.some((g) => g.groupId === keyGroup), 'and it is gone after shutdown');
});

test('10,000+ mutated approvals through the real broker and executor: none accepted (no new ledger row), each refused with the mutation\'s expected code', async (t) => {
  const config = await requireServices('kafka', 'registry', 'postgres', 'redis');
  const bus = await createTestBus(t, config);
  const codec = await bus.codec();
  const watch = await TopicWatcher.start(t, bus, codec, ['executions']);
  const publisher = publisherFor(bus, codec);
  const scenario = createMutationScenario({ now: Date.now() });
  await publishKeys(publisher, scenario.keyRecords);
  // The executor's clock stands still at the scenario's time: the expected codes of the time-based
  // mutations (expired, not yet valid) are computed for that instant.
  await startExecutorService(t, bus, {}, { clock: () => scenario.now });
  const db = executorDb(t, config);
  const COUNT = Number(process.env.MUTATION_COUNT ?? 10_000);
  // Every kind but the valid control (which would be accepted).
  const kinds = MUTATION_KINDS.filter((k) => k !== 'valid_control');
  const mutations: Mutation[] = [...generateMutations(scenario, { seed: 20260105, count: COUNT, kinds, idPrefix: uniqueName('mut') })];

  // Replays need their original used first: those run (and may write ledger rows) before the count.
  const bases = mutations.filter((m) => m.requiresPriorUse).map((m) => m.base.event);
  await sendAll(bus.producer(), approvalMessages(publisher, bases));
  await watch.until(`${bases.length} originals`, () => watch.executions.length >= bases.length, 60_000);
  assert.ok(watch.executions.every((e) => e.data.status !== 'refused'), 'the originals of the replays verify');
  const approvalIds = [...new Set(mutations.map((m) => m.event.approvalId))];
  const ledgerBefore = [...(await ledgerRows(db, approvalIds)).values()].reduce((a, b) => a + b, 0);

  const messages = approvalMessages(publisher, mutations.map((m) => m.event));
  const expected = new Map(messages.map((m, i) => [m.headers[EVENT_HEADERS.eventId]!, mutations[i]!]));
  const started = performance.now();
  await sendAll(bus.producer(), messages);
  await watch.until(`${mutations.length} refusals`, () => watch.executions.length >= bases.length + mutations.length, 120_000);
  const seconds = (performance.now() - started) / 1000;
  const results = watch.executions.filter((e) => expected.has(e.metadata.causationId!));
  assert.equal(results.length, mutations.length, 'one result per mutated approval');
  const wrong: string[] = [];
  const delivered = new Map<string, number>();
  for (const { metadata, data } of results) {
    const mutation = expected.get(metadata.causationId!)!;
    delivered.set(mutation.kind, (delivered.get(mutation.kind) ?? 0) + 1);
    const want = mutation.expected.ok ? 'accepted' : mutation.expected.code;
    if (data.status !== 'refused' || data.code !== want) wrong.push(`${mutation.kind} (${mutation.description}): ${data.status} ${data.code}, expected ${want}`);
  }
  assert.deepEqual(wrong.slice(0, 20), [], `${wrong.length} mismatches`);
  assert.equal(delivered.size, kinds.length, 'every mutation kind but the valid control was delivered');
  const ledgerAfter = [...(await ledgerRows(db, approvalIds)).values()].reduce((a, b) => a + b, 0);
  assert.equal(ledgerAfter, ledgerBefore, 'no mutated approval moved money');
  const ran = await db.query('SELECT 1 FROM executor_executions WHERE event_id = ANY($1::text[])', [[...expected.keys()]]);
  assert.equal(ran.rowCount, 0, 'no mutated approval reached a handler');
  const audited = await db.query<{ n: string }>('SELECT count(*) AS n FROM executor_refusals WHERE event_id = ANY($1::text[])', [[...expected.keys()]]);
  assert.equal(Number(audited.rows[0]!.n), mutations.length, 'every refusal audited');
  t.diagnostic(`${mutations.length} mutated approvals refused in ${seconds.toFixed(1)} s (${Math.round(mutations.length / seconds)}/s) end to end`);
});

test('two executor instances in one group and a replayed approvals topic (the same records again, and copies as new records): every approval executed exactly once', async (t) => {
  const config = await requireServices('kafka', 'registry', 'postgres', 'redis');
  const bus = await createTestBus(t, config);
  const codec = await bus.codec();
  const watch = await TopicWatcher.start(t, bus, codec, ['executions']);
  const publisher = publisherFor(bus, codec);
  const key = testKey();
  await publishKeys(publisher, [key.record]);
  const a = await startExecutorService(t, bus, { INSTANCE_ID: `exec-a-${randomUUID().slice(0, 6)}` });
  const b = await startExecutorService(t, bus, { INSTANCE_ID: `exec-b-${randomUUID().slice(0, 6)}` });
  await Promise.all([a.service.consumer.joined(), b.service.consumer.joined()]);
  await waitFor(() => a.service.consumer.assignment().length > 0 && b.service.consumer.assignment().length > 0, { what: 'both instances own partitions' });
  const db = executorDb(t, config);
  const label = uniqueName('twice');
  const N = 120;
  const approvals = await Promise.all(Array.from({ length: N }, (_, i) => signedApproval(key.signer, `${label}-${i}`,
    i % 4 === 3 ? { type: 'message_send', medium: 'chat', recipient: 'bob', subject: null, body: `note ${i}` } : transfer(100 + i, `Payee ${i % 7}`))));
  const originals = approvalMessages(publisher, approvals);
  await sendAll(bus.producer(), originals);
  await watch.until(`${N} results`, () => watch.executions.length >= N);

  // Replay: the identical records (same event ids) and copies (new event ids), interleaved.
  const copies = approvalMessages(publisher, approvals);
  const replay = originals.flatMap((m, i) => [m, copies[i]!]);
  await sendAll(bus.producer(), replay, 40);
  await watch.until(`${3 * N} results`, () => watch.executions.length >= 3 * N, 60_000);
  await sleep(1500);
  assert.equal(watch.executions.length, 3 * N, 'one result per record');
  const ids = approvals.map((x) => x.approvalId);
  const ledger = await ledgerRows(db, ids);
  const rows = await executionRows(db, ids);
  const copyIds = new Set(copies.map((m) => m.headers[EVENT_HEADERS.eventId]!));
  for (const [i, approval] of approvals.entries()) {
    const results = watch.executions.filter((e) => e.data.approvalId === approval.approvalId);
    const executed = results.filter((e) => e.data.status === 'executed');
    const refused = results.filter((e) => e.data.status === 'refused');
    assert.equal(executed.length, 2, 'the original and its identical redelivery report the execution');
    assert.equal(new Set(executed.map((e) => e.data.executionId)).size, 1, 'one execution, reported twice');
    assert.equal(new Set(executed.map((e) => e.record.headers[EVENT_HEADERS.eventId])).size, 1, 'with the same event id (deduplicable)');
    assert.equal(refused.length, 1);
    assert.equal(refused[0]!.data.code, 'SNT_APPROVAL_REPLAYED');
    assert.ok(copyIds.has(refused[0]!.metadata.causationId!), 'the copy is the one refused');
    assert.equal(rows.get(approval.approvalId)?.status, 'executed');
    assert.equal(ledger.get(approval.approvalId) ?? 0, i % 4 === 3 ? 0 : 2, 'ledger rows: one transfer, once');
  }
  const producers = new Set(watch.executions.map((e) => e.metadata.producer));
  assert.equal(producers.size, 2, 'both instances executed some approvals');
});

const EXECUTOR_PROCESS = new URL('../../support/executor-process.ts', import.meta.url).pathname;

function startExecutorProcess(bus: TestBus, env: Record<string, string>): { child: ChildProcess; output: string[]; ready: Promise<void> } {
  const output: string[] = [];
  const child = spawn(process.execPath, ['--disable-warning=TimeoutNegativeWarning', EXECUTOR_PROCESS], {
    env: {
      ...process.env, TOPIC_PREFIX: bus.prefix, KAFKA_CLIENT: bus.config.kafka.client, LOG_LEVEL: 'warn', PORT: '0', NODE_ENV: 'test',
      POSTGRES_DB: EXECUTOR_TEST_DB, REDIS_KEY_PREFIX: `test:${randomUUID().slice(0, 8)}:`, ...env,
    },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let markReady: () => void = () => {};
  const ready = new Promise<void>((resolve) => { markReady = resolve; });
  child.stdout!.on('data', (chunk: Buffer) => {
    const lines = chunk.toString().split('\n').filter(Boolean);
    output.push(...lines);
    if (lines.includes('ready')) markReady();
  });
  return { child, output, ready };
}

test('an executor SIGKILLed after the PostgreSQL commit and before the offset commit: on restart nothing runs twice and the results are emitted', async (t) => {
  const config = await requireServices('kafka', 'registry', 'postgres', 'redis');
  const bus = await createTestBus(t, config);
  const codec = await bus.codec();
  const publisher = publisherFor(bus, codec);
  const key = testKey();
  await publishKeys(publisher, [key.record]);
  const db = executorDb(t, config);
  const label = uniqueName('crash');
  const N = 30;
  const approvals = await Promise.all(Array.from({ length: N }, (_, i) => signedApproval(key.signer, `${label}-${i}`, transfer(1000 + i))));
  await sendAll(bus.producer(), approvalMessages(publisher, approvals));
  const ids = approvals.map((x) => x.approvalId);
  const instance = `exec-crash-${randomUUID().slice(0, 6)}`;

  const crashing = startExecutorProcess(bus, { INSTANCE_ID: instance, CRASH_BEFORE_COMMIT: '1' });
  const [, signal] = await once(crashing.child, 'exit');
  assert.equal(signal, 'SIGKILL', crashing.output.join(' | '));
  const committed = await executionRows(db, ids);
  assert.ok(committed.size > 0, 'the killed instance had committed executions to PostgreSQL');
  const ledgerAtCrash = await ledgerRows(db, ids);
  const visible = await bus.readAll(bus.topicName('sentinel.executions'), 0, { settleMs: 1500 });
  assert.equal(visible.length, 0, 'but no result reached Kafka (its transaction never committed)');

  const healthy = startExecutorProcess(bus, { INSTANCE_ID: instance });
  t.after(() => { healthy.child.kill('SIGTERM'); });
  const records = await bus.readAll(bus.topicName('sentinel.executions'), N, { timeoutMs: 60_000, settleMs: 1500 });
  const results = await Promise.all(records.map(async (r) => (await codec.decode<Record<string, unknown>>(r.topic, r.value!)).value));
  assert.equal(records.length, N, 'one result per approval');
  assert.ok(results.every((r) => r.status === 'executed'), 'each reported executed (the crashed ones from their stored result)');
  const ledger = await ledgerRows(db, ids);
  for (const id of ids) assert.equal(ledger.get(id), 2, `ledger rows of ${id}: the transfer ran exactly once`);
  for (const [id, n] of ledgerAtCrash) assert.equal(ledger.get(id), n, 'nothing the crashed instance did ran again');
  const rows = await executionRows(db, ids);
  for (const [id, row] of committed) assert.equal(rows.get(id)!.eventId, row.eventId);
});

test('PostgreSQL cut: nothing executes or commits and /ready says 503; restored: it resumes, exactly once', async (t) => {
  const config = await requireServices('kafka', 'registry', 'postgres', 'redis');
  const bus = await createTestBus(t, config);
  const codec = await bus.codec();
  const watch = await TopicWatcher.start(t, bus, codec, ['executions']);
  const publisher = publisherFor(bus, codec);
  const key = testKey();
  await publishKeys(publisher, [key.record]);
  const proxy = await TcpProxy.start(config.postgres.host, config.postgres.port);
  t.after(() => proxy.close());
  const { url } = await startExecutorService(t, bus, { POSTGRES_PORT: String(proxy.port) });
  const db = executorDb(t, config);
  const label = uniqueName('pgcut');
  const before = await signedApproval(key.signer, `${label}-1`, transfer(500));
  await sendAll(bus.producer(), approvalMessages(publisher, [before]));
  await watch.until('first result', () => watch.executions.length >= 1);
  assert.equal((await fetch(`${url}/ready`)).status, 200);

  proxy.cutNetwork();
  const during = await signedApproval(key.signer, `${label}-2`, transfer(700));
  await sendAll(bus.producer(), approvalMessages(publisher, [during]));
  await waitFor(async () => (await fetch(`${url}/ready`)).status === 503, { timeoutMs: 15_000, what: '/ready to report the outage' });
  const ready = (await (await fetch(`${url}/ready`)).json()) as { checks: Record<string, { ok: boolean }> };
  assert.equal(ready.checks.postgres!.ok, false);
  await sleep(3000);
  assert.equal(watch.executions.length, 1, 'no result while PostgreSQL is away');
  assert.equal((await ledgerRows(db, [during.approvalId])).size, 0, 'and nothing executed');

  proxy.restore();
  await watch.until('the result after the outage', () => watch.executions.length >= 2, 30_000);
  await sleep(1500);
  assert.equal(watch.executions.length, 2, 'exactly one result for the approval sent during the outage');
  assert.equal(watch.executions[1]!.data.approvalId, during.approvalId);
  assert.equal(watch.executions[1]!.data.status, 'executed');
  assert.equal((await ledgerRows(db, [during.approvalId])).get(during.approvalId), 2);
  await waitFor(async () => (await fetch(`${url}/ready`)).status === 200, { timeoutMs: 15_000, what: 'ready again without a restart' });
});

test('the whole path: a decision through the signer to the executor, and again after the signer rotated its key', async (t) => {
  const config = await requireServices('kafka', 'registry', 'postgres', 'redis');
  const bus = await createTestBus(t, config);
  const codec = await bus.codec();
  const watch = await TopicWatcher.start(t, bus, codec, ['executions']);
  const publisher = publisherFor(bus, codec);
  const signer = await startSignerService(t, bus, { API_KEY });
  const executor = await startExecutorService(t, bus);
  const db = executorDb(t, config);
  const label = uniqueName('e2e');
  const first = testDecision(`${label}-1`, { action: transfer(2500, 'Carol') });
  await publishDecision(publisher, first);
  const done = await watch.until('first execution', () => watch.executions[0]);
  assert.equal(done.data.status, 'executed');
  assert.equal(done.data.decisionId, first.decisionId);
  const rotate = await fetch(`${signer.url}/admin/keys/rotate`, { method: 'POST', headers: { authorization: `Bearer ${API_KEY}`, 'content-type': 'application/json' }, body: '{}' });
  const { currentKeyId } = (await rotate.json()) as { currentKeyId: string };
  const second = testDecision(`${label}-2`, { action: transfer(3500, 'Carol') });
  await publishDecision(publisher, second);
  const again = await watch.until('second execution', () => watch.executions[1]);
  assert.equal(again.data.status, 'executed', again.data.reason);
  assert.ok(executor.service.keyReader.registry.entries.has(currentKeyId));
  const ledger = await ledgerRows(db, [again.data.approvalId!, done.data.approvalId!]);
  assert.deepEqual([...ledger.values()], [2, 2]);
  void ApprovalSigned; void conversationKey; void newTrace;
});
