// PostgreSQL adapter of the audit trail (tables in src/db/migrations/500_audit.sql). Appends take the
// chain's head row lock, so replicas of the audit consumer append one at a time and sequences never
// fork; an event already recorded (redelivery) is never appended again.
import type { Signer, SignerSource } from '../approval/signers/signer.ts';
import { envelopeFromJson, envelopeToJson } from '../approval/dsse.ts';
import { asDependencyError, withTransaction, type Pool, type PoolClient } from '../db/pg.ts';
import type { EpochMillis } from '../domain/types.ts';
import { appendCheckpoint, checkpointDue, emptyHead, extendChain, type AppendedLink, type ChainHead, type CheckpointPolicy } from './chain.ts';
import type { AuditDraft, AuditKind, StoredAuditEntry } from './types.ts';

interface Row {
  chain_id: string;
  sequence: string;
  kind: string;
  subject_id: string;
  event_id: string;
  caused_by: string | null;
  correlation_id: string;
  record_json: string;
  previous_hash: string;
  hash: string;
  checkpoint_json: string | null;
  recorded_at: Date;
}

const COLUMNS = 'chain_id, sequence, kind, subject_id, event_id, caused_by, correlation_id, record_json, previous_hash, hash, checkpoint_json, recorded_at';

function fromRow(row: Row): StoredAuditEntry {
  let checkpoint = null;
  if (row.checkpoint_json !== null) {
    const parsed = envelopeFromJson(JSON.parse(row.checkpoint_json));
    // An unreadable envelope is kept as an empty one: verification reports it, nothing hides it.
    checkpoint = parsed.ok ? parsed.envelope : { payloadType: '', payload: Buffer.alloc(0), signatures: [] };
  }
  return {
    chainId: row.chain_id,
    sequence: Number(row.sequence),
    kind: row.kind as AuditKind,
    subjectId: row.subject_id,
    eventId: row.event_id,
    causedBy: row.caused_by,
    correlationId: row.correlation_id,
    recordJson: row.record_json,
    previousHash: row.previous_hash,
    hash: row.hash,
    checkpoint,
    recordedAt: row.recorded_at.getTime(),
  };
}

function toStored(link: AppendedLink, now: EpochMillis): StoredAuditEntry {
  return {
    ...link.entry,
    eventId: link.eventId ?? `checkpoint:${link.entry.sequence}`,
    causedBy: link.causedBy,
    correlationId: link.correlationId,
    recordedAt: now,
  };
}

export interface AppendResult {
  /** Links appended now (drafts, and any checkpoint taken). */
  appended: StoredAuditEntry[];
  /** Every link for each given event id: its own link and a checkpoint taken right after it, new or recorded earlier. */
  byEvent: Map<string, StoredAuditEntry[]>;
}

export class AuditStore {
  readonly pool: Pool;
  readonly chainId: string;

  constructor(pool: Pool, chainId: string) {
    this.pool = pool;
    this.chainId = chainId;
  }

  private async lockHead(client: PoolClient, now: EpochMillis): Promise<ChainHead> {
    const empty = emptyHead(this.chainId, now);
    await client.query(
      'INSERT INTO audit_heads (chain_id, sequence, hash, checkpoint_sequence, checkpoint_at) VALUES ($1, 0, $2, 0, $3) ON CONFLICT (chain_id) DO NOTHING',
      [this.chainId, empty.hash, new Date(now)],
    );
    const { rows } = await client.query<{ sequence: string; hash: string; checkpoint_sequence: string; checkpoint_at: Date }>(
      'SELECT sequence, hash, checkpoint_sequence, checkpoint_at FROM audit_heads WHERE chain_id = $1 FOR UPDATE', [this.chainId],
    );
    const row = rows[0]!;
    return { chainId: this.chainId, sequence: Number(row.sequence), hash: row.hash, checkpointSequence: Number(row.checkpoint_sequence), checkpointAt: row.checkpoint_at.getTime() };
  }

  private async insert(client: PoolClient, entries: StoredAuditEntry[], head: ChainHead): Promise<void> {
    if (entries.length > 0) {
      const columns: unknown[][] = [[], [], [], [], [], [], [], [], [], []];
      for (const e of entries) {
        const values = [e.sequence, e.kind, e.subjectId, e.eventId, e.causedBy, e.correlationId, e.recordJson, e.previousHash, e.hash,
          e.checkpoint === null ? null : JSON.stringify(envelopeToJson(e.checkpoint))];
        values.forEach((v, i) => columns[i]!.push(v));
      }
      await client.query(
        `INSERT INTO audit_log (chain_id, sequence, kind, subject_id, event_id, caused_by, correlation_id, record_json, previous_hash, hash, checkpoint_json)
         SELECT $1, * FROM unnest($2::bigint[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::text[], $9::text[], $10::text[], $11::text[])`,
        [this.chainId, ...columns],
      );
    }
    await client.query(
      'UPDATE audit_heads SET sequence = $2, hash = $3, checkpoint_sequence = $4, checkpoint_at = $5, updated_at = now() WHERE chain_id = $1',
      [this.chainId, head.sequence, head.hash, head.checkpointSequence, new Date(head.checkpointAt)],
    );
  }

  /** Links recorded for these events (their own, and checkpoints taken right after them). */
  async linksFor(eventIds: readonly string[], client?: PoolClient): Promise<Map<string, StoredAuditEntry[]>> {
    const byEvent = new Map<string, StoredAuditEntry[]>();
    if (eventIds.length === 0) return byEvent;
    const { rows } = await (client ?? this.pool).query<Row>(
      `SELECT ${COLUMNS} FROM audit_log WHERE chain_id = $1 AND (event_id = ANY($2::text[]) OR caused_by = ANY($2::text[])) ORDER BY sequence`,
      [this.chainId, eventIds],
    );
    for (const row of rows) {
      const entry = fromRow(row);
      const owner = entry.kind === 'checkpoint' ? entry.causedBy! : entry.eventId;
      let list = byEvent.get(owner);
      if (!list) byEvent.set(owner, (list = []));
      list.push(entry);
    }
    return byEvent;
  }

  /**
   * Appends the drafts not recorded yet, in order, in one transaction, with checkpoints as the policy
   * asks (signed by `signer`). Returns what was appended and every link of each draft's event.
   */
  async append(drafts: readonly AuditDraft[], options: { policy: CheckpointPolicy; now: EpochMillis; signer: Signer | SignerSource }): Promise<AppendResult> {
    try {
      return await withTransaction(this.pool, async (client) => {
        const head = await this.lockHead(client, options.now);
        const ids = drafts.map((d) => d.eventId);
        const known = await this.linksFor(ids, client);
        const seen = new Set<string>();
        const fresh = drafts.filter((d) => {
          if (known.has(d.eventId) || seen.has(d.eventId)) return false;
          seen.add(d.eventId);
          return true;
        });
        if (fresh.length === 0) return { appended: [], byEvent: known };
        const extended = await extendChain(head, fresh, { policy: options.policy, now: options.now, signer: options.signer });
        const appended = extended.links.map((l) => toStored(l, options.now));
        await this.insert(client, appended, extended.head);
        const byEvent = new Map(known);
        for (const entry of appended) {
          const owner = entry.kind === 'checkpoint' ? entry.causedBy! : entry.eventId;
          let list = byEvent.get(owner);
          if (!list) byEvent.set(owner, (list = []));
          list.push(entry);
        }
        return { appended, byEvent };
      });
    } catch (error) {
      throw asDependencyError(error);
    }
  }

  /** Takes a checkpoint if the policy says one is due (the timer's call); returns it, or null. */
  async checkpointIfDue(options: { policy: CheckpointPolicy; now: EpochMillis; signer: Signer | SignerSource }): Promise<StoredAuditEntry | null> {
    try {
      return await withTransaction(this.pool, async (client) => {
        const head = await this.lockHead(client, options.now);
        if (!checkpointDue(head, options.policy, options.now)) return null;
        const taken = await appendCheckpoint(head, options.signer, options.now, null);
        const entry = toStored(taken.link, options.now);
        await this.insert(client, [entry], taken.head);
        return entry;
      });
    } catch (error) {
      throw asDependencyError(error);
    }
  }

  /** Timer checkpoints not yet on the audit topic. */
  async unpublishedCheckpoints(): Promise<StoredAuditEntry[]> {
    const { rows } = await this.pool.query<Row>(
      `SELECT ${COLUMNS} FROM audit_log l WHERE chain_id = $1 AND kind = 'checkpoint' AND caused_by IS NULL
       AND NOT EXISTS (SELECT 1 FROM audit_publications p WHERE p.chain_id = l.chain_id AND p.sequence = l.sequence) ORDER BY sequence`,
      [this.chainId],
    );
    return rows.map(fromRow);
  }

  async markPublished(sequence: number): Promise<void> {
    await this.pool.query('INSERT INTO audit_publications (chain_id, sequence) VALUES ($1, $2) ON CONFLICT DO NOTHING', [this.chainId, sequence]);
  }

  async head(): Promise<{ sequence: number; hash: string } | null> {
    const { rows } = await this.pool.query<{ sequence: string; hash: string }>('SELECT sequence, hash FROM audit_heads WHERE chain_id = $1', [this.chainId]);
    return rows[0] ? { sequence: Number(rows[0].sequence), hash: rows[0].hash } : null;
  }

  /** The chain's links in sequence order, read in pages (for verify and export). */
  async *links(options: { fromSequence?: number; toSequence?: number; pageSize?: number } = {}): AsyncGenerator<StoredAuditEntry> {
    let after = (options.fromSequence ?? 1) - 1;
    const last = options.toSequence ?? Number.MAX_SAFE_INTEGER;
    const pageSize = options.pageSize ?? 2000;
    for (;;) {
      const { rows } = await this.pool.query<Row>(
        `SELECT ${COLUMNS} FROM audit_log WHERE chain_id = $1 AND sequence > $2 AND sequence <= $3 ORDER BY sequence LIMIT $4`,
        [this.chainId, after, last, pageSize],
      );
      for (const row of rows) yield fromRow(row);
      if (rows.length < pageSize) return;
      after = Number(rows[rows.length - 1]!.sequence);
    }
  }

  /** Chains present in the table. */
  async chains(): Promise<string[]> {
    const { rows } = await this.pool.query<{ chain_id: string }>('SELECT DISTINCT chain_id FROM audit_log ORDER BY chain_id');
    return rows.map((r) => r.chain_id);
  }
}
