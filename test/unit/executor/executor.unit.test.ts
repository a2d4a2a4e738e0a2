// The executor's pure parts (consumers/executor/outcome.ts, the command parser) and its batch
// handler over an in-memory store: refusals never reach a handler, the first record with an
// approval id claims it, a copy of the same record gets the same result, an unknown key id makes
// it re-read the key topic once before refusing.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createExecutorHandler, type KeySource } from '../../../consumers/executor/handler.ts';
import { HandlerRegistry, defaultHandlers, parseCommand } from '../../../consumers/executor/handlers/index.ts';
import { executionIdFor, planBatch, refusedOutputs, type StoredOutput } from '../../../consumers/executor/outcome.ts';
import type { Claim, ExecutorStore, ExecutorTx, Finished, RefusalRow } from '../../../consumers/executor/store.ts';
import { createKeyRegistry, emptyKeyRegistry, type KeyRegistry } from '../../../src/approval/keys/registry.ts';
import { newKeyRecord } from '../../../src/approval/keys/rotation.ts';
import { issueApproval } from '../../../src/approval/sign.ts';
import { ACTIONS, T0, sampleDecision, testNonce, testSigner } from '../../../src/approval/testing/fixtures.ts';
import { ApprovalSigned } from '../../../src/contracts/events.ts';
import type { Action, ChannelReply, ExecutionResult, SignedApprovalEvent } from '../../../src/domain/types.ts';
import type { HandlerResult, InboundEvent } from '../../../src/kafka/runner.ts';
import { createLogger } from '../../../src/observability/log.ts';

const signer = testSigner('executor unit');
const registry = createKeyRegistry([newKeyRecord({ publicKey: signer.publicKey, origin: 'local', now: T0 - 60_000 })]);
const logger = createLogger({ service: 'test', level: 'silent', secrets: [] });

async function approval(label: string, action: Action = ACTIONS.command): Promise<SignedApprovalEvent> {
  const r = await issueApproval(sampleDecision({ decisionId: `dec-${label}`, intentId: `int-${label}`, action }), [], signer, { now: T0, nonce: testNonce(label), audience: 'aureus-executor', issuer: 'aureus-bridge' });
  assert.ok(r.ok);
  return r.event;
}

function inbound(eventId: string, data: SignedApprovalEvent): InboundEvent {
  return { definition: ApprovalSigned, data, metadata: { eventId } as InboundEvent['metadata'], message: {} as InboundEvent['message'], schemaId: 1, trace: {} as InboundEvent['trace'] };
}

/** The store's contract in memory (what PostgreSQL does with its primary keys). */
function memoryStore(): ExecutorStore & { executions: Map<string, { eventId: string; outputs: StoredOutput[] }>; refusals: Map<string, RefusalRow> } {
  const executions = new Map<string, { eventId: string; outputs: StoredOutput[] }>();
  const refusals = new Map<string, RefusalRow>();
  return {
    executions, refusals,
    async storedOutputs(eventIds) {
      const out = new Map<string, StoredOutput[]>();
      for (const e of executions.values()) if (eventIds.includes(e.eventId) && e.outputs.length > 0) out.set(e.eventId, e.outputs);
      for (const [eventId, r] of refusals) if (eventIds.includes(eventId)) out.set(eventId, r.outputs);
      return out;
    },
    async usedApprovals(ids) {
      return new Map([...executions].filter(([id]) => ids.includes(id)).map(([id, e]) => [id, e.eventId]));
    },
    async transaction(work) {
      const tx: ExecutorTx = {
        db: { query: async () => ({ rows: [], rowCount: 0 }) },
        async claim(claims: readonly Claim[]) {
          const won = new Set<string>();
          for (const c of claims) if (!executions.has(c.approvalId)) { executions.set(c.approvalId, { eventId: c.eventId, outputs: [] }); won.add(c.approvalId); }
          return won;
        },
        async holders(ids) { return new Map([...executions].filter(([id]) => ids.includes(id))); },
        async finish(rows: readonly Finished[]) { for (const r of rows) executions.get(r.approvalId)!.outputs = r.outputs; },
        async refuse(rows: readonly RefusalRow[]) { for (const r of rows) if (!refusals.has(r.eventId)) refusals.set(r.eventId, r); },
        savepoint: (w) => w(),
      };
      return work(tx);
    },
    async resultsForIntent() { return []; },
  };
}

function handlerWith(store: ExecutorStore, keys: KeySource, now = T0 + 1000) {
  return createExecutorHandler({
    store, keys, clock: () => now, logger,
    handlers: defaultHandlers({ command: { allowlist: ['df', 'uptime'], execute: false } }),
    settings: { audience: 'aureus-executor', issuers: ['aureus-bridge'], clockSkewMs: 30_000, maxTtlMs: 900_000, keyRefreshMs: 10 },
  });
}

const resultsOf = (results: HandlerResult[]) => results.map((r) => {
  assert.ok('outputs' in r);
  return r.outputs[0]!.data as ExecutionResult;
});

test('the command parser refuses shell syntax, paths and programs off the allowlist', () => {
  const allow = ['df', 'ls', 'uptime'];
  assert.deepEqual(parseCommand('df -h', allow), { ok: true, program: 'df', args: ['-h'] });
  assert.deepEqual(parseCommand('  ls   -la /tmp ', allow), { ok: true, program: 'ls', args: ['-la', '/tmp'] });
  for (const bad of ['df -h; rm -rf /', 'ls $(whoami)', 'ls `id`', 'df | sh', 'uptime > /etc/passwd', 'ls *', "ls 'a'", 'ls\nrm', 'ls && id']) {
    assert.deepEqual(parseCommand(bad, allow), { ok: false, reason: 'the command uses shell syntax' }, bad);
  }
  assert.match((parseCommand('/bin/df', allow) as { reason: string }).reason, /not a path/);
  assert.match((parseCommand('rm -rf /', allow) as { reason: string }).reason, /rm is not on the allowlist/);
  assert.match((parseCommand('', allow) as { reason: string }).reason, /empty/);
});

test('planBatch: refused verdicts are refused; the first record of an approval id claims it; later ones follow it', () => {
  const ok = { ok: true as const, payload: {} as never, keyId: 'k' };
  const no = { ok: false as const, code: 'SNT_APPROVAL_EXPIRED' as const, reason: 'expired', check: 'time' as const, keyId: 'k', payload: null };
  const plans = planBatch([
    { eventId: 'e1', approvalId: 'a', verdict: ok }, { eventId: 'e2', approvalId: 'b', verdict: no },
    { eventId: 'e1', approvalId: 'a', verdict: ok }, { eventId: 'e3', approvalId: 'a', verdict: ok },
  ]);
  assert.deepEqual(plans.map((p) => p.kind), ['claim', 'refuse', 'follow', 'follow']);
  assert.deepEqual(plans.slice(2), [{ kind: 'follow', index: 0, sameRecord: true }, { kind: 'follow', index: 0, sameRecord: false }]);
  assert.equal(executionIdFor('e1'), executionIdFor('e1'));
  assert.notEqual(executionIdFor('e1'), executionIdFor('e2'));
});

test('a refusal is a result with its code and a reply to the conversation', async () => {
  const a = await approval('refusal');
  const [result, reply] = refusedOutputs(a, { code: 'SNT_APPROVAL_EXPIRED', reason: 'the approval expired', check: 'time', keyId: 'k' }, 'x-1', T0);
  assert.equal(result!.type, 'execution');
  const r = (result as { result: ExecutionResult }).result;
  assert.deepEqual([r.status, r.code, r.approvalId, r.executedAt], ['refused', 'SNT_APPROVAL_EXPIRED', a.approvalId, T0]);
  assert.equal((reply as { reply: ChannelReply }).reply.text, 'Not executed: run `df -h` on build-01. The approval was refused: the approval expired. (SNT_APPROVAL_EXPIRED)');
});

test('the handler: verified approvals run once; copies of the same record get the same result; other records with a used id are replays; refusals never run', async () => {
  const store = memoryStore();
  const handle = handlerWith(store, { registry: () => registry, refresh: async () => {} });
  const a = await approval('h-a');
  const b = await approval('h-b', ACTIONS.tool);
  const expired = await approval('h-c');
  const first = await handle([inbound('e1', a), inbound('e1', a), inbound('e2', a), inbound('e3', b)], {} as never);
  const results = resultsOf(first);
  assert.deepEqual(results.map((r) => [r.status, r.code]), [['executed', null], ['executed', null], ['refused', 'SNT_APPROVAL_REPLAYED'], ['failed', 'SNT_EXEC_NO_HANDLER']]);
  assert.equal(results[0]!.executionId, results[1]!.executionId);
  // Redelivered after a crash: the stored result, not a second run.
  const again = resultsOf(await handle([inbound('e1', a), inbound('e4', a)], {} as never));
  assert.deepEqual(again.map((r) => [r.status, r.code]), [['executed', null], ['refused', 'SNT_APPROVAL_REPLAYED']]);
  assert.equal(again[0]!.executionId, results[0]!.executionId);
  assert.equal(store.executions.size, 2);
  const late = createExecutorHandler({
    store, keys: { registry: () => registry, refresh: async () => {} }, clock: () => T0 + 3_600_000, logger,
    handlers: new HandlerRegistry([]), settings: { audience: 'aureus-executor', clockSkewMs: 30_000, maxTtlMs: 900_000, keyRefreshMs: 10 },
  });
  const refused = resultsOf(await late([inbound('e5', expired)], {} as never));
  assert.deepEqual([refused[0]!.status, refused[0]!.code], ['refused', 'SNT_APPROVAL_EXPIRED']);
  assert.equal(store.executions.has(expired.approvalId), false, 'a refused approval never reaches a handler, nor claims its id');
});

test('an unknown key id: the key topic is re-read once (bounded), then the approval verifies or is refused', async () => {
  let current: KeyRegistry = emptyKeyRegistry();
  let refreshes = 0;
  const keys: KeySource = { registry: () => current, refresh: async () => { refreshes++; current = registry; } };
  const handle = handlerWith(memoryStore(), keys);
  const found = resultsOf(await handle([inbound('k1', await approval('k-1')), inbound('k2', await approval('k-2'))], {} as never));
  assert.deepEqual(found.map((r) => r.status), ['executed', 'executed']);
  assert.equal(refreshes, 1, 'one refresh for the batch');
  const never = handlerWith(memoryStore(), { registry: () => emptyKeyRegistry(), refresh: async () => { refreshes++; } });
  const refused = resultsOf(await never([inbound('k3', await approval('k-3'))], {} as never));
  assert.deepEqual([refused[0]!.status, refused[0]!.code, refreshes], ['refused', 'SNT_APPROVAL_KEY_UNKNOWN', 2]);
});
