// The Python subscriber (examples/python-subscriber), spawned against the real broker and registry:
// it verifies every approval of a recorded run and refuses forged ones; it passes the published
// test vectors and agrees with the TypeScript verifier on hundreds of generated mutations.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { envelopeToJson } from '../../../src/approval/dsse.ts';
import { toJwks } from '../../../src/approval/keys/jwks.ts';
import type { ApprovalPayload } from '../../../src/approval/payload.ts';
import { signApproval } from '../../../src/approval/sign.ts';
import { LocalEd25519Signer } from '../../../src/approval/signers/local.ts';
import { createMutationScenario, generateMutations } from '../../../src/approval/testing/mutate.ts';
import { createTestBus } from '../../support/kafka.ts';
import { requireServices } from '../../support/infra.ts';
import { buildRecordedRun, runPublisher } from '../../support/recorded-run.ts';

const PYTHON = process.env.SUBSCRIBER_PYTHON ?? '/usr/bin/python3';
const SUBSCRIBER = fileURLToPath(new URL('../../../examples/python-subscriber/subscriber.py', import.meta.url));
const VECTORS = fileURLToPath(new URL('../../vectors/approvals/vectors.json', import.meta.url));

function python(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(PYTHON, [SUBSCRIBER, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => { stdout += d.toString(); });
    child.stderr.on('data', (d: Buffer) => { stderr += d.toString(); });
    child.on('error', reject);
    child.on('close', (code) => resolve({ code: code ?? -1, stdout, stderr }));
  });
}

const lines = <T>(text: string): T[] => text.trim().split('\n').filter(Boolean).map((l) => JSON.parse(l) as T);

test('the Python subscriber passes every published test vector', async () => {
  const result = await python(['--vectors', VECTORS]);
  assert.equal(result.code, 0, result.stdout + result.stderr);
  const results = lines<{ vector: string; passed: boolean; expected: { ok: boolean } }>(result.stdout);
  assert.ok(results.length >= 30);
  assert.ok(results.every((r) => r.passed), JSON.stringify(results.filter((r) => !r.passed)));
  assert.ok(results.some((r) => r.expected.ok) && results.some((r) => !r.expected.ok));
  assert.match(result.stderr, /vectors: (\d+)\/\1 passed/);
});

test('the Python verifier agrees with the TypeScript one on 400 generated mutations', async (t) => {
  const scenario = createMutationScenario({ now: Date.UTC(2026, 0, 10) });
  const vectors = [...generateMutations(scenario, { seed: 8, count: 400 })].map((m, i) => ({
    id: `m${i}-${m.kind}`,
    keySet: 'main',
    now: scenario.now,
    event: { approvalId: m.event.approvalId, intentId: m.event.intentId, decisionId: m.event.decisionId, action: m.event.action },
    seenApprovalIds: m.requiresPriorUse ? [m.base.payload.approvalId] : [],
    envelope: envelopeToJson(m.event.envelope),
    expected: m.expected,
  }));
  const dir = mkdtempSync(join(tmpdir(), 'mutations-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const file = join(dir, 'mutations.json');
  writeFileSync(file, JSON.stringify({
    verifier: { audience: scenario.audience, clockSkewMs: scenario.clockSkewMs, maxTtlMs: scenario.maxTtlMs },
    keySets: { main: toJwks(scenario.registry) },
    vectors,
  }));
  const result = await python(['--vectors', file]);
  const failed = lines<{ vector: string; passed: boolean }>(result.stdout).filter((r) => !r.passed);
  assert.deepEqual(failed, []);
  assert.equal(result.code, 0, result.stderr);
  assert.ok(new Set(vectors.map((v) => v.id.split('-').slice(1).join('-'))).size >= 20, 'most mutation kinds are covered');
});

test('the Python subscriber verifies every approval of a run on the broker and refuses forged ones', { timeout: 90_000 }, async (t) => {
  const config = await requireServices('kafka', 'registry');
  const bus = await createTestBus(t, config);
  const codec = await bus.codec();
  const run = await buildRecordedRun({ count: 21, now: Date.now() });
  const p = runPublisher(bus, codec);
  await p.key(run.keyRecord);
  for (const approval of run.approvals) await p.approval(approval);
  // Forged: signed by a key nobody published; tampered: the action changed after signing.
  const victim = run.approvals[0]!;
  const payload = JSON.parse(victim.envelope.payload.toString('utf8')) as ApprovalPayload;
  const forged = { ...victim, approvalId: `${victim.approvalId}-f`, envelope: await signApproval({ ...payload, approvalId: `${victim.approvalId}-f` }, LocalEd25519Signer.generate()) };
  const swapped = { ...run.approvals[1]!, action: { type: 'transfer' as const, amountMinor: 99_999_999, currency: 'USD', payee: 'Mallory', memo: null } };
  await p.approval(forged);
  await p.approval(swapped);

  const common = ['--bootstrap', config.kafka.brokers.join(','), '--registry', config.registry.url, '--prefix', bus.prefix, '--until-end', '--timeout', '60', '--issuer', 'aureus-bridge'];
  const fromTopic = await python(common);
  assert.equal(fromTopic.code, 3, fromTopic.stderr);
  type Row = { approvalId: string; ok: boolean; code?: string; check?: string };
  const verdicts = lines<Row>(fromTopic.stdout);
  assert.equal(verdicts.length, run.approvals.length + 2);
  const genuine = verdicts.filter((v) => v.approvalId !== forged.approvalId && !(v.approvalId === swapped.approvalId && v.ok === false));
  assert.equal(genuine.length, run.approvals.length);
  assert.ok(genuine.every((v) => v.ok), JSON.stringify(genuine.filter((v) => !v.ok)));
  assert.deepEqual(verdicts.filter((v) => !v.ok).map((v) => [v.approvalId, v.code]).sort(), [
    [forged.approvalId, 'SNT_APPROVAL_KEY_UNKNOWN'], [swapped.approvalId, 'SNT_APPROVAL_DIGEST_MISMATCH'],
  ].sort());
  assert.match(fromTopic.stderr, new RegExp(`approvals: ${run.approvals.length} verified, 2 refused, 0 undecodable`));

  // The same with the key set from a signer-style GET /public-key.
  const server = createServer((_req, res) => {
    res.setHeader('content-type', 'application/json');
    res.end(JSON.stringify({ keyId: run.keyRecord.keyId, keys: toJwks([run.keyRecord]).keys }));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.after(() => new Promise<void>((resolve) => server.close(() => resolve())));
  const fromUrl = await python([...common, '--public-key-url', `http://127.0.0.1:${(server.address() as AddressInfo).port}/public-key`]);
  assert.equal(fromUrl.code, 3, fromUrl.stderr);
  const summary = (rows: Row[]) => rows.map((v) => `${v.approvalId} ${v.ok} ${v.code ?? ''}`).sort(); // partitions interleave differently per read
  assert.deepEqual(summary(lines<Row>(fromUrl.stdout)), summary(verdicts));
});
