// The signer's durable state in PostgreSQL (migration 200_signer.sql). Work on a set of decisions
// runs in one transaction that first takes a transaction-scoped advisory lock per decision id, in
// a fixed order: the decision and its answers travel on different topics (and may be consumed by
// different signer instances at once), and the lock makes "is the decision here yet?" and "which
// answers are waiting for it?" one serial question per decision. Connection failures surface as
// SNT_DEPENDENCY_UNAVAILABLE (the consumer retries without committing).
import { envelopeFromJson, envelopeToJson, type EnvelopeJson } from '../../src/approval/dsse.ts';
import { parseKeyRecord, serializeKeyRecord } from '../../src/approval/keys/jwks.ts';
import { createHash } from 'node:crypto';
import { perTurn, type Settled } from '../../src/batching/per-turn.ts';
import { asDependencyError, withClient, withTransaction, type Pool, type PoolClient } from '../../src/db/pg.ts';
import type {
  ChannelReply, Decision, HumanApprovalResponse, SignedApprovalEvent, SigningKeyRecord,
} from '../../src/domain/types.ts';
import type { DecisionState, DecisionStatus, KnownDecision, KnownResponse, ResponseStatus } from './plan.ts';

/** What one consumed event produced, as stored for re-emission. */
export type StoredOutput = { type: 'approval'; decisionId: string } | { type: 'reply'; reply: ChannelReply };

export interface IssuedApproval {
  event: SignedApprovalEvent;
  keyId: string;
  origin: string;
  issuedAt: number;
  expiresAt: number;
  via: 'consumer' | 'http';
}

export interface SignerTx {
  loadStates(decisionIds: readonly string[]): Promise<Map<string, DecisionState>>;
  loadApprovals(decisionIds: readonly string[]): Promise<Map<string, SignedApprovalEvent>>;
  loadOutputs(eventIds: readonly string[]): Promise<Map<string, StoredOutput[]>>;
  /** Inserts new decisions (a decision already stored keeps its row; its status is updated). */
  saveDecisions(rows: readonly KnownDecision[]): Promise<void>;
  /** Changes the status of decisions already stored. */
  updateStatuses(rows: ReadonlyArray<{ decisionId: string; status: DecisionStatus; statusCode: string | null }>): Promise<void>;
  saveResponses(rows: readonly KnownResponse[]): Promise<void>;
  /** Inserts approvals (one per decision; an existing one is kept). */
  saveApprovals(rows: readonly IssuedApproval[]): Promise<void>;
  saveOutputs(rows: ReadonlyArray<{ eventId: string; outputs: StoredOutput[] }>): Promise<void>;
  /** One approval issued outside the consumer (POST /sign): stores it and marks its decision signed, in one statement. */
  recordSigned(approval: IssuedApproval): Promise<void>;
}

export interface PendingDeadline { decisionId: string; intentId: string; deadline: number }

export interface SignerStore {
  /** Runs `work` in one transaction holding the advisory locks of `decisionIds`. */
  withDecisions<T>(decisionIds: readonly string[], work: (tx: SignerTx) => Promise<T>): Promise<T>;
  /**
   * One decision, in as few round trips as PostgreSQL allows (for POST /sign): BEGIN, its lock and
   * its state in one; then `work` decides; then the approval it issued (if any) is stored, the
   * decision marked signed and the transaction committed, in one more. Calls made together share
   * that transaction (each `work` in arrival order); a `work` that throws rejects its own call and
   * issues nothing, a database failure rejects them all.
   */
  signOne<T>(decisionId: string, work: (state: DecisionState, approval: SignedApprovalEvent | null) => Promise<{ issued: IssuedApproval | null; result: T }>): Promise<T>;
  /** The approval issued for a decision, if any (one query, no lock: approvals never change). */
  approvalOf(decisionId: string): Promise<SignedApprovalEvent | null>;
  /** The decision, if the signer has seen it (no lock). */
  decisionOf(decisionId: string): Promise<Decision | null>;
  pendingCount(): Promise<number>;
  /** Pending human decisions whose deadline has passed (oldest first). */
  overdue(now: number, limit: number): Promise<PendingDeadline[]>;
  saveKey(record: SigningKeyRecord): Promise<void>;
  getKey(keyId: string): Promise<SigningKeyRecord | null>;
  listKeys(): Promise<SigningKeyRecord[]>;
}

/** Advisory-lock namespace of the signer (pg_advisory_xact_lock(int4, int4)). */
const LOCK_CLASS = 0x5160;

/** The lock key of a decision id: 32 bits of its SHA-256 (collisions only serialise more). */
export function lockKey(decisionId: string): number {
  return createHash('sha256').update(decisionId).digest().readInt32BE(0);
}

/** BEGIN and the locks in one round trip (the keys are integers: safe to inline), in a fixed order. */
export function beginWithLocks(decisionIds: readonly string[]): string {
  const keys = [...new Set(decisionIds.map(lockKey))].sort((a, b) => a - b);
  return keys.length === 0 ? 'BEGIN'
    : `BEGIN; SELECT pg_advisory_xact_lock(${LOCK_CLASS}, k) FROM unnest(ARRAY[${keys.join(',')}]::int4[]) AS k`;
}

interface StoredApprovalJson extends Omit<SignedApprovalEvent, 'envelope'> { envelope: EnvelopeJson }

function approvalToJson(event: SignedApprovalEvent): string {
  const json: StoredApprovalJson = { ...event, envelope: envelopeToJson(event.envelope) };
  return JSON.stringify(json);
}

export function approvalFromJson(text: string): SignedApprovalEvent {
  const json = JSON.parse(text) as StoredApprovalJson;
  const parsed = envelopeFromJson(json.envelope);
  if (!parsed.ok) throw new TypeError(`stored approval ${json.approvalId} has an unreadable envelope: ${parsed.reason}`);
  return { ...json, envelope: parsed.envelope };
}

const millis = (column: string) => `(extract(epoch FROM ${column}) * 1000)::bigint`;

/** Each id, its decision if any, and its answers in the order they were given (one statement). */
const LOAD_STATES = (ids: string) => `SELECT x.id, d.status, d.status_code, d.decision_json,
   (SELECT json_agg(json_build_array(r.status, r.code, r.reason, r.response_json) ORDER BY r.responded_at, r.response_id)
      FROM signer_responses r WHERE r.decision_id = x.id) AS responses
 FROM unnest(${ids}) AS x(id) LEFT JOIN signer_decisions d ON d.decision_id = x.id`;

type StateRow = { id: string; status: DecisionStatus | null; status_code: string | null; decision_json: string | null; responses: Array<[ResponseStatus, string | null, string | null, string]> | null };

function statesFrom(decisionIds: readonly string[], rows: readonly StateRow[]): Map<string, DecisionState> {
  const states = new Map<string, DecisionState>();
  for (const id of decisionIds) states.set(id, { decisionId: id, known: null, responses: [] });
  for (const row of rows) {
    const state = states.get(row.id)!;
    if (row.decision_json !== null && row.status !== null) {
      state.known = { decision: JSON.parse(row.decision_json) as Decision, status: row.status, statusCode: row.status_code };
    }
    for (const [status, code, reason, json] of row.responses ?? []) {
      state.responses.push({ response: JSON.parse(json) as HumanApprovalResponse, status, code, reason });
    }
  }
  return states;
}

function recordSignedSql(r: IssuedApproval, literal: (value: string) => string): string {
  const ms = (n: number) => `to_timestamp(${Number(n)} / 1000.0)`;
  return `WITH issued AS (
     INSERT INTO signer_approvals (decision_id, approval_id, intent_id, key_id, origin, event_json, issued_at, expires_at, signed_via)
     VALUES (${[r.event.decisionId, r.event.approvalId, r.event.intentId, r.keyId, r.origin, approvalToJson(r.event)].map(literal).join(', ')}, ${ms(r.issuedAt)}, ${ms(r.expiresAt)}, ${literal(r.via)})
     ON CONFLICT (decision_id) DO NOTHING)
   UPDATE signer_decisions SET status = 'signed', status_code = NULL, updated_at = now() WHERE decision_id = ${literal(r.event.decisionId)}`;
}

function tx(client: PoolClient): SignerTx {
  const q = async <R extends Record<string, unknown>>(text: string, values: unknown[]) => (await client.query<R>(text, values)).rows;
  return {
    async loadStates(decisionIds) {
      if (decisionIds.length === 0) return statesFrom([], []);
      return statesFrom(decisionIds, await q<StateRow>(LOAD_STATES('$1::text[]'), [decisionIds]));
    },
    async loadApprovals(decisionIds) {
      const out = new Map<string, SignedApprovalEvent>();
      if (decisionIds.length === 0) return out;
      for (const row of await q<{ decision_id: string; event_json: string }>('SELECT decision_id, event_json FROM signer_approvals WHERE decision_id = ANY($1::text[])', [decisionIds])) {
        out.set(row.decision_id, approvalFromJson(row.event_json));
      }
      return out;
    },
    async loadOutputs(eventIds) {
      const out = new Map<string, StoredOutput[]>();
      if (eventIds.length === 0) return out;
      for (const row of await q<{ event_id: string; outputs_json: string }>('SELECT event_id, outputs_json FROM signer_outputs WHERE event_id = ANY($1::text[])', [eventIds])) {
        out.set(row.event_id, JSON.parse(row.outputs_json) as StoredOutput[]);
      }
      return out;
    },
    async saveDecisions(rows) {
      if (rows.length === 0) return;
      await client.query(
        `INSERT INTO signer_decisions (decision_id, intent_id, outcome, status, status_code, deadline, decision_json)
         SELECT d, i, o, s, c, CASE WHEN dl IS NULL THEN NULL ELSE to_timestamp(dl / 1000.0) END, j
         FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::float8[], $7::text[]) AS t(d, i, o, s, c, dl, j)
         ON CONFLICT (decision_id) DO UPDATE SET status = EXCLUDED.status, status_code = EXCLUDED.status_code, updated_at = now()`,
        [
          rows.map((r) => r.decision.decisionId), rows.map((r) => r.decision.intentId), rows.map((r) => r.decision.outcome),
          rows.map((r) => r.status), rows.map((r) => r.statusCode), rows.map((r) => r.decision.humanApproval?.deadline ?? null),
          rows.map((r) => JSON.stringify(r.decision)),
        ],
      );
    },
    async updateStatuses(rows) {
      if (rows.length === 0) return;
      await client.query(
        `UPDATE signer_decisions AS d SET status = u.s, status_code = u.c, updated_at = now()
         FROM unnest($1::text[], $2::text[], $3::text[]) AS u(i, s, c) WHERE d.decision_id = u.i`,
        [rows.map((r) => r.decisionId), rows.map((r) => r.status), rows.map((r) => r.statusCode)],
      );
    },
    async saveResponses(rows) {
      if (rows.length === 0) return;
      await client.query(
        `INSERT INTO signer_responses (response_id, decision_id, approver_user_id, verdict, status, code, reason, response_json, responded_at)
         SELECT r, d, a, v, s, c, re, j, to_timestamp(t / 1000.0)
         FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::text[], $9::float8[]) AS x(r, d, a, v, s, c, re, j, t)
         ON CONFLICT (response_id) DO UPDATE SET status = EXCLUDED.status, code = EXCLUDED.code, reason = EXCLUDED.reason`,
        [
          rows.map((r) => r.response.responseId), rows.map((r) => r.response.decisionId), rows.map((r) => r.response.approver.userId),
          rows.map((r) => r.response.verdict), rows.map((r) => r.status), rows.map((r) => r.code), rows.map((r) => r.reason),
          rows.map((r) => JSON.stringify(r.response)), rows.map((r) => r.response.respondedAt),
        ],
      );
    },
    async saveApprovals(rows) {
      if (rows.length === 0) return;
      await client.query(
        `INSERT INTO signer_approvals (decision_id, approval_id, intent_id, key_id, origin, event_json, issued_at, expires_at, signed_via)
         SELECT d, a, i, k, o, j, to_timestamp(s / 1000.0), to_timestamp(e / 1000.0), v
         FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::float8[], $8::float8[], $9::text[]) AS x(d, a, i, k, o, j, s, e, v)
         ON CONFLICT (decision_id) DO NOTHING`,
        [
          rows.map((r) => r.event.decisionId), rows.map((r) => r.event.approvalId), rows.map((r) => r.event.intentId),
          rows.map((r) => r.keyId), rows.map((r) => r.origin), rows.map((r) => approvalToJson(r.event)),
          rows.map((r) => r.issuedAt), rows.map((r) => r.expiresAt), rows.map((r) => r.via),
        ],
      );
    },
    async recordSigned(r) {
      await client.query(recordSignedSql(r, (v) => client.escapeLiteral(v)));
    },
    async saveOutputs(rows) {
      if (rows.length === 0) return;
      await client.query(
        `INSERT INTO signer_outputs (event_id, outputs_json) SELECT * FROM unnest($1::text[], $2::text[]) ON CONFLICT (event_id) DO NOTHING`,
        [rows.map((r) => r.eventId), rows.map((r) => JSON.stringify(r.outputs))],
      );
    },
  };
}

interface SignRequest {
  decisionId: string;
  work: (state: DecisionState, approval: SignedApprovalEvent | null) => Promise<{ issued: IssuedApproval | null; result: unknown }>;
}

export function postgresSignerStore(pool: Pool): SignerStore {
  const query = async <R extends Record<string, unknown>>(text: string, values: unknown[] = []) => {
    try {
      return (await pool.query<R>(text, values)).rows;
    } catch (error) {
      throw asDependencyError(error);
    }
  };

  // signOne calls made together (concurrent POST /sign requests) share one transaction of two round
  // trips: BEGIN, their locks, states and approvals; then each request's work, in arrival order (a
  // later request for the same decision sees the approval an earlier one issued); then every issued
  // approval stored, its decision marked signed, and COMMIT. A request whose work throws gets its
  // error and issues nothing; the others are unaffected. A database failure fails them all.
  const signBatch = perTurn(async (batch: SignRequest[]) => {
    const ids = [...new Set(batch.map((r) => r.decisionId))];
    const settled: Array<Settled<unknown>> = [];
    await withClient(pool, async (client) => {
      const literal = (v: string) => client.escapeLiteral(v);
      const idArray = `ARRAY[${ids.map(literal).join(',')}]::text[]`;
      try {
        // Simple-protocol multi-statement queries (values inlined as escaped literals): one round trip each.
        const results = await client.query(
          `${beginWithLocks(ids)}; ${LOAD_STATES(idArray)}; SELECT decision_id, event_json FROM signer_approvals WHERE decision_id = ANY(${idArray})`,
        ) as unknown as Array<{ rows: Array<Record<string, unknown>> }>;
        const states = statesFrom(ids, results.at(-2)!.rows as StateRow[]);
        const approvals = new Map<string, SignedApprovalEvent>();
        for (const row of results.at(-1)!.rows as Array<{ decision_id: string; event_json: string }>) approvals.set(row.decision_id, approvalFromJson(row.event_json));
        const issuedNow: IssuedApproval[] = [];
        for (const request of batch) {
          try {
            const { issued, result } = await request.work(states.get(request.decisionId)!, approvals.get(request.decisionId) ?? null);
            if (issued !== null && !approvals.has(issued.event.decisionId)) {
              issuedNow.push(issued);
              approvals.set(issued.event.decisionId, issued.event);
            }
            settled.push({ ok: true, value: result });
          } catch (error) {
            settled.push({ ok: false, error });
          }
        }
        await client.query([...issuedNow.map((i) => recordSignedSql(i, literal)), 'COMMIT'].join('; '));
      } catch (error) {
        await client.query('ROLLBACK').catch(() => {});
        throw asDependencyError(error);
      }
    });
    return settled;
  });
  return {
    async withDecisions(decisionIds, work) {
      return withTransaction(pool, (client) => work(tx(client)), beginWithLocks(decisionIds));
    },
    signOne(decisionId, work) {
      return signBatch({ decisionId, work }) as Promise<Awaited<ReturnType<typeof work>>['result']>;
    },
    async approvalOf(decisionId) {
      const [row] = await query<{ event_json: string }>('SELECT event_json FROM signer_approvals WHERE decision_id = $1', [decisionId]);
      return row ? approvalFromJson(row.event_json) : null;
    },
    async decisionOf(decisionId) {
      const [row] = await query<{ decision_json: string }>('SELECT decision_json FROM signer_decisions WHERE decision_id = $1', [decisionId]);
      return row ? JSON.parse(row.decision_json) as Decision : null;
    },
    async pendingCount() {
      const [row] = await query<{ n: string }>("SELECT count(*) AS n FROM signer_decisions WHERE status = 'pending'");
      return Number(row?.n ?? 0);
    },
    async overdue(now, limit) {
      const rows = await query<{ decision_id: string; intent_id: string; deadline: string }>(
        `SELECT decision_id, intent_id, ${millis('deadline')} AS deadline FROM signer_decisions
         WHERE status = 'pending' AND deadline < to_timestamp($1 / 1000.0) ORDER BY deadline LIMIT $2`, [now, limit]);
      return rows.map((r) => ({ decisionId: r.decision_id, intentId: r.intent_id, deadline: Number(r.deadline) }));
    },
    async saveKey(record) {
      await query(
        `INSERT INTO signer_keys (key_id, origin, status, record_json) VALUES ($1, $2, $3, $4)
         ON CONFLICT (key_id) DO UPDATE SET status = EXCLUDED.status, record_json = EXCLUDED.record_json, updated_at = now()`,
        [record.keyId, record.origin, record.status, serializeKeyRecord(record).toString('utf8')],
      );
    },
    async getKey(keyId) {
      const [row] = await query<{ record_json: string }>('SELECT record_json FROM signer_keys WHERE key_id = $1', [keyId]);
      return row ? parseKeyRecord(Buffer.from(row.record_json, 'utf8')) : null;
    },
    async listKeys() {
      const rows = await query<{ record_json: string }>('SELECT record_json FROM signer_keys ORDER BY published_at, key_id');
      return rows.map((r) => parseKeyRecord(Buffer.from(r.record_json, 'utf8')));
    },
  };
}
