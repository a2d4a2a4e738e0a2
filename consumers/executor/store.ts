// The executor's durable state in PostgreSQL (migration 300_executor.sql). The single-use guard is
// the primary key of executor_executions: claiming an approval id is an INSERT ... ON CONFLICT DO
// NOTHING in the same transaction as the handler's effect, so across every replica and restart an
// approval runs at most once, and a redelivered record finds its result by event id. Deadlocks
// and serialisation failures between replicas are retried here; connection failures surface as
// SNT_DEPENDENCY_UNAVAILABLE (the consumer retries the batch without committing).
import type pg from 'pg';
import { asDependencyError, withTransaction, type Pool, type PoolClient } from '../../src/db/pg.ts';
import type { ExecutionResult } from '../../src/domain/types.ts';
import { storableText } from '../../src/policy/store/pg-history.ts';
import type { Queryable } from './handlers/types.ts';
import type { StoredOutput } from './outcome.ts';

export interface Claim {
  approvalId: string;
  eventId: string;
  executionId: string;
  intentId: string;
  decisionId: string;
  actionType: string;
  keyId: string;
  now: number;
}

export interface Finished {
  approvalId: string;
  result: ExecutionResult;
  outputs: StoredOutput[];
}

export interface RefusalRow {
  eventId: string;
  result: ExecutionResult;
  check: string | null;
  keyId: string | null;
  outputs: StoredOutput[];
}

export interface ExecutorTx {
  db: Queryable;
  /** Claims approval ids for these records; returns the ids this transaction now holds. */
  claim(claims: readonly Claim[]): Promise<Set<string>>;
  /** Who holds these approval ids (their record's event id and stored outputs). */
  holders(approvalIds: readonly string[]): Promise<Map<string, { eventId: string; outputs: StoredOutput[] }>>;
  finish(rows: readonly Finished[]): Promise<void>;
  refuse(rows: readonly RefusalRow[]): Promise<void>;
  /** Runs `work` inside a savepoint: a throw undoes its writes (and is rethrown). */
  savepoint<T>(work: () => Promise<T>): Promise<T>;
}

export interface ExecutorStore {
  /** Outputs already stored for these consumed records (executions and refusals). */
  storedOutputs(eventIds: readonly string[]): Promise<Map<string, StoredOutput[]>>;
  /** Approval ids already used, with the event id of the record that used each. */
  usedApprovals(approvalIds: readonly string[]): Promise<Map<string, string>>;
  transaction<T>(work: (tx: ExecutorTx) => Promise<T>): Promise<T>;
  resultsForIntent(intentId: string): Promise<ExecutionResult[]>;
}

const RETRYABLE = new Set(['40P01', '40001']); // deadlock detected, serialization failure

function outputsText(outputs: readonly StoredOutput[]): string {
  return JSON.stringify(outputs);
}

function tx(client: PoolClient): ExecutorTx {
  let savepoints = 0;
  return {
    db: client as unknown as Queryable,
    async claim(claims) {
      if (claims.length === 0) return new Set();
      const { rows } = await client.query<{ approval_id: string }>(
        `INSERT INTO executor_executions (approval_id, event_id, execution_id, intent_id, decision_id, action_type, key_id, status, reason, outputs_json, executed_at)
         SELECT a, e, x, i, d, t, k, 'executing', 'executing', '[]', to_timestamp(n / 1000.0)
         FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::float8[]) AS c(a, e, x, i, d, t, k, n)
         ORDER BY a
         ON CONFLICT DO NOTHING RETURNING approval_id`,
        [
          claims.map((c) => c.approvalId), claims.map((c) => c.eventId), claims.map((c) => c.executionId), claims.map((c) => storableText(c.intentId)),
          claims.map((c) => storableText(c.decisionId)), claims.map((c) => c.actionType), claims.map((c) => c.keyId), claims.map((c) => c.now),
        ],
      );
      return new Set(rows.map((r) => r.approval_id));
    },
    async holders(approvalIds) {
      const out = new Map<string, { eventId: string; outputs: StoredOutput[] }>();
      if (approvalIds.length === 0) return out;
      const { rows } = await client.query<{ approval_id: string; event_id: string; outputs_json: string }>(
        'SELECT approval_id, event_id, outputs_json FROM executor_executions WHERE approval_id = ANY($1::text[])', [approvalIds]);
      for (const r of rows) out.set(r.approval_id, { eventId: r.event_id, outputs: JSON.parse(r.outputs_json) as StoredOutput[] });
      return out;
    },
    async finish(rows) {
      if (rows.length === 0) return;
      await client.query(
        `UPDATE executor_executions AS x SET status = f.s, code = f.c, reason = f.r, result_json = f.j, outputs_json = f.o
         FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[]) AS f(a, s, c, r, j, o)
         WHERE x.approval_id = f.a`,
        [
          rows.map((r) => r.approvalId), rows.map((r) => r.result.status), rows.map((r) => r.result.code),
          rows.map((r) => storableText(r.result.reason)), rows.map((r) => r.result.resultJson), rows.map((r) => outputsText(r.outputs)),
        ],
      );
    },
    async refuse(rows) {
      if (rows.length === 0) return;
      await client.query(
        `INSERT INTO executor_refusals (event_id, execution_id, approval_id, intent_id, decision_id, code, check_name, key_id, reason, outputs_json, refused_at)
         SELECT e, x, a, i, d, c, k, kid, r, o, to_timestamp(n / 1000.0)
         FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::text[], $9::text[], $10::text[], $11::float8[])
           AS f(e, x, a, i, d, c, k, kid, r, o, n)
         ON CONFLICT (event_id) DO NOTHING`,
        [
          rows.map((r) => r.eventId), rows.map((r) => r.result.executionId), rows.map((r) => (r.result.approvalId === null ? null : storableText(r.result.approvalId))),
          rows.map((r) => storableText(r.result.intentId)), rows.map((r) => (r.result.decisionId === null ? null : storableText(r.result.decisionId))),
          rows.map((r) => r.result.code ?? 'SNT_INTERNAL'), rows.map((r) => r.check), rows.map((r) => (r.keyId === null ? null : storableText(r.keyId))),
          rows.map((r) => storableText(r.result.reason)), rows.map((r) => outputsText(r.outputs)), rows.map((r) => r.result.executedAt),
        ],
      );
    },
    async savepoint(work) {
      const name = `handler_${++savepoints}`;
      await client.query(`SAVEPOINT ${name}`);
      try {
        const result = await work();
        await client.query(`RELEASE SAVEPOINT ${name}`);
        return result;
      } catch (error) {
        await client.query(`ROLLBACK TO SAVEPOINT ${name}`).catch(() => {});
        throw error;
      }
    },
  };
}

export function postgresExecutorStore(pool: Pool): ExecutorStore {
  const query = async <R extends pg.QueryResultRow>(text: string, values: unknown[]) => {
    try {
      return (await pool.query<R>(text, values)).rows;
    } catch (error) {
      throw asDependencyError(error);
    }
  };
  return {
    async storedOutputs(eventIds) {
      const out = new Map<string, StoredOutput[]>();
      if (eventIds.length === 0) return out;
      const rows = await query<{ event_id: string; outputs_json: string }>(
        `SELECT event_id, outputs_json FROM executor_executions WHERE event_id = ANY($1::text[]) AND status <> 'executing'
         UNION ALL SELECT event_id, outputs_json FROM executor_refusals WHERE event_id = ANY($1::text[])`, [eventIds]);
      for (const r of rows) out.set(r.event_id, JSON.parse(r.outputs_json) as StoredOutput[]);
      return out;
    },
    async usedApprovals(approvalIds) {
      const out = new Map<string, string>();
      if (approvalIds.length === 0) return out;
      for (const r of await query<{ approval_id: string; event_id: string }>('SELECT approval_id, event_id FROM executor_executions WHERE approval_id = ANY($1::text[])', [approvalIds])) {
        out.set(r.approval_id, r.event_id);
      }
      return out;
    },
    async transaction(work) {
      for (let attemptNo = 1; ; attemptNo++) {
        try {
          return await withTransaction(pool, (client) => work(tx(client)));
        } catch (error) {
          const code = (error as { code?: string }).code;
          if (attemptNo >= 5 || code === undefined || !RETRYABLE.has(code)) throw error;
          await new Promise((resolve) => setTimeout(resolve, 10 * attemptNo + Math.random() * 20));
        }
      }
    },
    async resultsForIntent(intentId) {
      const rows = await query<{ outputs_json: string }>(
        `SELECT outputs_json, executed_at AS at FROM executor_executions WHERE intent_id = $1 AND status <> 'executing'
         UNION ALL SELECT outputs_json, refused_at AS at FROM executor_refusals WHERE intent_id = $1 ORDER BY at`, [intentId]);
      return rows.map((r) => (JSON.parse(r.outputs_json) as StoredOutput[]).find((o) => o.type === 'execution'))
        .filter((o) => o !== undefined && o.type === 'execution')
        .map((o) => (o as Extract<StoredOutput, { type: 'execution' }>).result);
    },
  };
}
