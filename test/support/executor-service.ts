// Runs the executor in the test process against the real infrastructure, and helpers to publish
// signing keys and approvals (signed with local test keys) and to look at its ledger.
import type { TestContext } from 'node:test';
import { buildExecutorService, executorRuntimeOptions, type ExecutorServiceOverrides } from '../../consumers/executor/service.ts';
import { newKeyRecord } from '../../src/approval/keys/rotation.ts';
import { issueApproval } from '../../src/approval/sign.ts';
import { LocalEd25519Signer } from '../../src/approval/signers/local.ts';
import { ApprovalSigned, SigningKeyPublished, conversationKey } from '../../src/contracts/events.ts';
import { createPool, type Pool } from '../../src/db/pg.ts';
import type { Action, Decision, SignedApprovalEvent, SigningKeyRecord } from '../../src/domain/types.ts';
import type { EventPublisher } from '../../src/kafka/publisher.ts';
import type { MessageProducer, OutgoingMessage } from '../../src/kafka/types.ts';
import { newTrace } from '../../src/observability/trace.ts';
import type { TestBus } from './kafka.ts';
import { listeningPort, serviceEnv, startRuntime, type ServiceEnv } from './services.ts';
import { testDecision } from './signer-service.ts';

export const EXECUTOR_TEST_DB = 'sentinel_test_executor_service';

export async function startExecutorService(t: TestContext, bus: TestBus, env: ServiceEnv = {}, overrides: ExecutorServiceOverrides = {}) {
  const runtime = await startRuntime(t, executorRuntimeOptions, serviceEnv(bus, { POSTGRES_DB: EXECUTOR_TEST_DB, ...env }));
  const service = await buildExecutorService(runtime, overrides);
  await service.start();
  return { runtime, service, url: `http://127.0.0.1:${listeningPort(service.http)}` };
}

/** A pool on the executor's test database (for counting ledger rows behind the service's back). */
export function executorDb(t: TestContext, config: TestBus['config']): Pool {
  const pool = createPool({ ...config.postgres, database: EXECUTOR_TEST_DB }, { max: 2, applicationName: 'executor-test' });
  t.after(() => pool.end());
  return pool;
}

export async function publishKeys(publisher: EventPublisher, records: readonly SigningKeyRecord[]): Promise<void> {
  for (const record of records) await publisher.publish(SigningKeyPublished, record, { key: record.keyId, trace: newTrace() });
}

/** A local signing key as the signer would publish it. */
export function testKey(now = Date.now()): { signer: LocalEd25519Signer; record: SigningKeyRecord } {
  const signer = LocalEd25519Signer.generate();
  return { signer, record: newKeyRecord({ publicKey: signer.publicKey, origin: 'local', now: now - 60_000 }) };
}

export async function signedApproval(signer: LocalEd25519Signer, label: string, action?: Action, overrides: Partial<Decision> = {}, now = Date.now()): Promise<SignedApprovalEvent> {
  const decision = testDecision(label, { ...(action ? { action } : {}), ...overrides });
  const issued = await issueApproval(decision, [], signer, { now, nonce: Buffer.from(label.padEnd(16, '.').slice(0, 16)).toString('base64url'), audience: 'aureus-executor', issuer: 'aureus-bridge' });
  if (!issued.ok) throw new Error(`cannot sign ${label}: ${issued.code}`);
  return issued.event;
}

/** Encodes approvals as the signer would emit them (each with its own event id). */
export function approvalMessages(publisher: EventPublisher, events: readonly SignedApprovalEvent[]): OutgoingMessage[] {
  return events.map((e) => publisher.encode(ApprovalSigned, e, { key: conversationKey(e.conversation), trace: newTrace() }));
}

export async function sendAll(producer: MessageProducer, messages: readonly OutgoingMessage[], chunk = 500): Promise<void> {
  for (let i = 0; i < messages.length; i += chunk) await producer.send(messages.slice(i, i + chunk));
}

export async function ledgerRows(pool: Pool, approvalIds: readonly string[]): Promise<Map<string, number>> {
  const { rows } = await pool.query<{ approval_id: string; n: string }>(
    'SELECT approval_id, count(*) AS n FROM executor_ledger_entries WHERE approval_id = ANY($1::text[]) GROUP BY approval_id', [approvalIds]);
  return new Map(rows.map((r) => [r.approval_id, Number(r.n)]));
}

export async function executionRows(pool: Pool, approvalIds: readonly string[]): Promise<Map<string, { status: string; eventId: string }>> {
  const { rows } = await pool.query<{ approval_id: string; status: string; event_id: string }>(
    'SELECT approval_id, status, event_id FROM executor_executions WHERE approval_id = ANY($1::text[])', [approvalIds]);
  return new Map(rows.map((r) => [r.approval_id, { status: r.status, eventId: r.event_id }]));
}

export type { ServiceEnv };
