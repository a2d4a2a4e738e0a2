// PostgreSQL for the channels service (migration 400_channels.sql): conversations and message
// history, deliveries per reply and destination, approval prompts and the cards that show them.
// Inbound messages from concurrent requests are written in one multi-row statement (a waiting
// request shares the next round trip), so recording history costs little under load.
import type { PromptRef } from '../../src/channels/types.ts';
import type { ApprovalPrompt, ChannelName, ChannelReply, EpochMillis } from '../../src/domain/types.ts';
import { asDependencyError, withTransaction, type Pool, type PoolClient } from '../../src/db/pg.ts';
import { replyKey, storableText, type StoredPrompt } from './model.ts';
import type { DeliveryOperation, PlannedDelivery, PlannedTarget } from './routing.ts';

export interface InboundRecord {
  key: string;
  channel: ChannelName;
  conversationId: string;
  kind: 'message' | 'tool_call' | 'approval_answer';
  userId: string;
  intentId: string | null;
  decisionId: string | null;
  text: string;
  traceId: string | null;
  at: EpochMillis;
}

export interface HistoryMessage {
  seq: number;
  direction: 'in' | 'out';
  kind: string;
  userId: string | null;
  intentId: string | null;
  replyId: string | null;
  decisionId: string | null;
  text: string;
  traceId: string | null;
  at: string;
  deliveries?: Array<{ channel: string; target: string; status: string; attempts: number; error: string | null }>;
}

export interface ConversationRow { channel: string; conversationId: string; userId: string; createdAt: string; lastActivityAt: string }

export type DeliveryStatus = 'pending' | 'delivered' | 'waiting' | 'retry' | 'failed' | 'skipped';

export interface DeliveryRow {
  replyId: string;
  channel: ChannelName;
  targetKey: string;
  target: PlannedTarget;
  operation: DeliveryOperation;
  recipientUserId: string | null;
  decisionId: string | null;
  status: DeliveryStatus;
  attempts: number;
  /** The reply's text (from the message history). */
  text: string;
  conversation: { channel: ChannelName; conversationId: string };
  intentId: string | null;
}

export interface DeliveryResult {
  status: DeliveryStatus;
  attempts: number;
  nextAttemptAt?: EpochMillis | null;
  error?: string | null;
  messageRef?: unknown;
}

interface Waiter { row: InboundRecord; resolve: (inserted: boolean) => void; reject: (error: unknown) => void }

const DELIVERY_COLUMNS = `d.reply_id, d.channel, d.target_key, d.target, d.operation, d.recipient_user_id, d.decision_id, d.status, d.attempts,
  m.text, m.channel AS conversation_channel, m.conversation_id, m.intent_id`;

function toDelivery(r: Record<string, unknown>): DeliveryRow {
  return {
    replyId: String(r.reply_id), channel: r.channel as ChannelName, targetKey: String(r.target_key), target: r.target as PlannedTarget,
    operation: r.operation as DeliveryOperation, recipientUserId: (r.recipient_user_id as string | null) ?? null,
    decisionId: (r.decision_id as string | null) ?? null, status: r.status as DeliveryStatus, attempts: Number(r.attempts),
    text: String(r.text), conversation: { channel: r.conversation_channel as ChannelName, conversationId: String(r.conversation_id) },
    intentId: (r.intent_id as string | null) ?? null,
  };
}

function toStoredPrompt(r: Record<string, unknown>): StoredPrompt {
  return {
    decisionId: String(r.decision_id), intentId: String(r.intent_id),
    conversation: { channel: r.channel as ChannelName, conversationId: String(r.conversation_id) },
    requesterUserId: String(r.requester_user_id), prompt: r.prompt as ApprovalPrompt, status: r.status as ApprovalPrompt['status'],
    deadline: Number(r.deadline_ms), promptedUsers: (r.prompted_users as string[]) ?? [],
    traceId: (r.trace_id as string | null) ?? null, spanId: (r.span_id as string | null) ?? null,
    expiredEmittedAt: r.expired_emitted_ms === null ? null : Number(r.expired_emitted_ms),
  };
}

async function query<R extends Record<string, unknown>>(db: Pool | PoolClient, sql: string, params: unknown[] = []): Promise<R[]> {
  try {
    return (await db.query(sql, params)).rows as R[];
  } catch (error) {
    throw asDependencyError(error);
  }
}

export class ChannelsStore {
  readonly pool: Pool;
  /** The pipeline this service belongs to (TOPIC_PREFIX): its scheduler only takes its own rows. */
  readonly scope: string;
  private queue: Waiter[] = [];
  private flushing = false;

  constructor(pool: Pool, scope = '') {
    this.pool = pool;
    this.scope = scope;
  }

  // ------------------------------------------------------------------------------------------
  // Inbound history

  /** Records an inbound message (and its conversation); resolves true if it was new. Coalesced with concurrent calls. */
  recordInbound(row: InboundRecord): Promise<boolean> {
    return new Promise((resolve, reject) => {
      this.queue.push({ row, resolve, reject });
      if (!this.flushing) {
        this.flushing = true;
        setImmediate(() => { void this.flush(); });
      }
    });
  }

  private async flush(): Promise<void> {
    while (this.queue.length > 0) {
      const batch = this.queue.splice(0, 500);
      try {
        const inserted = await this.insertInbound(batch.map((w) => w.row));
        for (const w of batch) w.resolve(inserted.has(w.row.key));
      } catch (error) {
        for (const w of batch) w.reject(error);
      }
    }
    this.flushing = false;
  }

  private async insertInbound(rows: InboundRecord[]): Promise<Set<string>> {
    const conversations = new Map<string, InboundRecord>();
    for (const r of rows) {
      const key = `${r.channel}\u0000${r.conversationId}`;
      const seen = conversations.get(key);
      if (!seen || seen.at < r.at) conversations.set(key, r);
    }
    // Sorted, so that replicas upserting the same conversations take row locks in one order.
    const convs = [...conversations.values()].sort((a, b) => (a.channel + a.conversationId < b.channel + b.conversationId ? -1 : 1));
    const result = await query<{ message_key: string }>(this.pool, `
      WITH convs AS (
        INSERT INTO channel_conversations (channel, conversation_id, user_id, last_activity_ms)
        SELECT * FROM unnest($11::text[], $12::text[], $13::text[], $14::bigint[])
        -- Activity to the minute: a busy conversation does not rewrite its row on every message.
        ON CONFLICT (channel, conversation_id) DO UPDATE SET last_activity_ms = EXCLUDED.last_activity_ms
          WHERE channel_conversations.last_activity_ms < EXCLUDED.last_activity_ms - 60000
      )
      INSERT INTO channel_messages (message_key, channel, conversation_id, direction, kind, user_id, intent_id, decision_id, text, trace_id, at_ms)
      SELECT k, c, conv, 'in', kind, u, i, d, t, tr, at FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::text[], $9::text[], $10::bigint[])
        AS x(k, c, conv, kind, u, i, d, t, tr, at)
      ON CONFLICT (message_key) DO NOTHING
      RETURNING message_key`, [
      rows.map((r) => r.key), rows.map((r) => r.channel), rows.map((r) => r.conversationId), rows.map((r) => r.kind), rows.map((r) => r.userId),
      rows.map((r) => r.intentId), rows.map((r) => r.decisionId), rows.map((r) => storableText(r.text)), rows.map((r) => r.traceId), rows.map((r) => r.at),
      convs.map((r) => r.channel), convs.map((r) => r.conversationId), convs.map((r) => r.userId), convs.map((r) => r.at),
    ]);
    return new Set(result.map((r) => r.message_key));
  }

  /** Forgets an inbound message whose intent could not be written, so a retry is not taken for a duplicate. */
  async forgetInbound(key: string): Promise<void> {
    await query(this.pool, 'DELETE FROM channel_messages WHERE message_key = $1', [key]);
  }

  async conversation(channel: ChannelName, conversationId: string): Promise<ConversationRow | null> {
    const rows = await query(this.pool, `SELECT channel, conversation_id, user_id, created_at, last_activity_ms FROM channel_conversations
      WHERE channel = $1 AND conversation_id = $2`, [channel, conversationId]);
    const r = rows[0];
    if (!r) return null;
    return {
      channel: String(r.channel), conversationId: String(r.conversation_id), userId: String(r.user_id),
      createdAt: (r.created_at as Date).toISOString(), lastActivityAt: new Date(Number(r.last_activity_ms)).toISOString(),
    };
  }

  async messages(channel: ChannelName, conversationId: string, after: number, limit: number): Promise<HistoryMessage[]> {
    const rows = await query(this.pool, `
      SELECT m.seq, m.direction, m.kind, m.user_id, m.intent_id, m.reply_id, m.decision_id, m.text, m.trace_id, m.at_ms,
        (SELECT json_agg(json_build_object('channel', d.channel, 'target', d.target_key, 'status', d.status, 'attempts', d.attempts, 'error', d.last_error) ORDER BY d.channel, d.target_key)
           FROM channel_deliveries d WHERE d.reply_id = m.reply_id) AS deliveries
      FROM channel_messages m
      WHERE m.channel = $1 AND m.conversation_id = $2 AND m.seq > $3
      ORDER BY m.seq LIMIT $4`, [channel, conversationId, after, limit]);
    return rows.map((r) => ({
      seq: Number(r.seq), direction: r.direction as 'in' | 'out', kind: String(r.kind), userId: (r.user_id as string | null) ?? null,
      intentId: (r.intent_id as string | null) ?? null, replyId: (r.reply_id as string | null) ?? null, decisionId: (r.decision_id as string | null) ?? null,
      text: String(r.text), traceId: (r.trace_id as string | null) ?? null, at: new Date(Number(r.at_ms)).toISOString(),
      ...(r.direction === 'out' ? { deliveries: (r.deliveries as HistoryMessage['deliveries']) ?? [] } : {}),
    }));
  }

  // ------------------------------------------------------------------------------------------
  // Replies

  /**
   * Records a reply once (unique by reply id) with its planned deliveries, and the prompt it
   * carries. Returns false when the reply was already recorded (a redelivered record): its
   * deliveries that are still pending are then completed, nothing is planned twice.
   */
  async recordReply(reply: ChannelReply, plan: { deliveries: PlannedDelivery[]; promptedUsers: string[] }, meta: { traceId: string | null; spanId: string | null; now: EpochMillis }): Promise<boolean> {
    return withTransaction(this.pool, async (client) => {
      const inserted = await client.query(`
        INSERT INTO channel_messages (message_key, channel, conversation_id, direction, kind, user_id, intent_id, reply_id, decision_id, text, trace_id, at_ms)
        VALUES ($1, $2, $3, 'out', $4, $5, $6, $7, $8, $9, $10, $11)
        ON CONFLICT (message_key) DO NOTHING RETURNING seq`, [
        replyKey(reply.replyId), reply.conversation.channel, reply.conversation.conversationId, reply.kind, reply.recipientUserId,
        reply.intentId, reply.replyId, reply.prompt?.decisionId ?? null, storableText(reply.text), meta.traceId, meta.now,
      ]);
      if (inserted.rowCount === 0) return false;
      if (plan.deliveries.length > 0) {
        const d = plan.deliveries;
        await client.query(`
          INSERT INTO channel_deliveries (reply_id, channel, target_key, target, operation, recipient_user_id, decision_id, status, scope)
          SELECT $1, c, k, t, o, u, dec, 'pending', $8 FROM unnest($2::text[], $3::text[], $4::jsonb[], $5::text[], $6::text[], $7::text[]) AS x(c, k, t, o, u, dec)
          ON CONFLICT DO NOTHING`, [
          reply.replyId, d.map((x) => x.channel), d.map((x) => x.targetKey), d.map((x) => JSON.stringify(x.target)), d.map((x) => x.operation),
          d.map((x) => x.recipientUserId), d.map((x) => x.decisionId), this.scope,
        ]);
      }
      const prompt = reply.prompt;
      if (reply.kind === 'approval_prompt' && prompt !== null) {
        await client.query(`
          INSERT INTO channel_approval_prompts (decision_id, intent_id, channel, conversation_id, requester_user_id, prompt, status, deadline_ms, prompted_users, trace_id, span_id, scope)
          VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)
          ON CONFLICT (decision_id) DO UPDATE SET
            prompted_users = ARRAY(SELECT DISTINCT u FROM unnest(channel_approval_prompts.prompted_users || EXCLUDED.prompted_users) AS u ORDER BY u),
            updated_at = now()`, [
          prompt.decisionId, prompt.intentId, reply.conversation.channel, reply.conversation.conversationId, prompt.requester.userId,
          JSON.stringify(prompt), prompt.status, prompt.deadline, plan.promptedUsers, meta.traceId, meta.spanId, this.scope,
        ]);
      } else if (reply.kind === 'approval_update' && prompt !== null) {
        await client.query(`UPDATE channel_approval_prompts SET prompt = $2, status = $3, updated_at = now() WHERE decision_id = $1`, [
          prompt.decisionId, JSON.stringify(prompt), prompt.status,
        ]);
      }
      return true;
    });
  }

  /** Deliveries of a reply not yet attempted. */
  async pendingDeliveries(replyId: string): Promise<DeliveryRow[]> {
    const rows = await query(this.pool, `SELECT ${DELIVERY_COLUMNS} FROM channel_deliveries d JOIN channel_messages m ON m.message_key = 'reply:' || d.reply_id
      WHERE d.reply_id = $1 AND d.status = 'pending' ORDER BY d.channel, d.target_key`, [replyId]);
    return rows.map(toDelivery);
  }

  async finishDelivery(row: Pick<DeliveryRow, 'replyId' | 'channel' | 'targetKey'>, result: DeliveryResult): Promise<void> {
    // A web reply another replica already showed (it marks it delivered) stays delivered.
    await query(this.pool, `UPDATE channel_deliveries SET status = CASE WHEN status = 'delivered' AND $4 = 'waiting' THEN status ELSE $4 END, attempts = $5, next_attempt_ms = $6, last_error = $7,
      message_ref = COALESCE($8::jsonb, message_ref), updated_at = now() WHERE reply_id = $1 AND channel = $2 AND target_key = $3`, [
      row.replyId, row.channel, row.targetKey, result.status, result.attempts, result.nextAttemptAt ?? null,
      result.error === undefined || result.error === null ? null : storableText(result.error).slice(0, 2000),
      result.messageRef === undefined ? null : JSON.stringify(result.messageRef),
    ]);
  }

  /**
   * Claims deliveries due for a retry, across replicas (FOR UPDATE SKIP LOCKED): each claimed row
   * is leased (its next attempt pushed back by `leaseMs`) so that no other replica takes it while
   * this one sends.
   */
  async claimDueRetries(now: EpochMillis, limit: number, leaseMs: number): Promise<DeliveryRow[]> {
    const rows = await query(this.pool, `
      WITH due AS (
        SELECT reply_id, channel, target_key FROM channel_deliveries
        WHERE status = 'retry' AND scope = $4 AND next_attempt_ms <= $1 ORDER BY next_attempt_ms LIMIT $2 FOR UPDATE SKIP LOCKED
      ), leased AS (
        UPDATE channel_deliveries d SET next_attempt_ms = $1 + $3, updated_at = now()
        FROM due WHERE d.reply_id = due.reply_id AND d.channel = due.channel AND d.target_key = due.target_key
        RETURNING d.*
      )
      SELECT ${DELIVERY_COLUMNS} FROM leased d JOIN channel_messages m ON m.message_key = 'reply:' || d.reply_id`, [now, limit, leaseMs, this.scope]);
    return rows.map(toDelivery);
  }

  // ------------------------------------------------------------------------------------------
  // Web chat: deliveries that wait for the person to connect

  /**
   * Takes what waited for this identity (marks it delivered): the replies, oldest first, to show now;
   * waiting prompts are marked too (the caller shows every prompt still pending for them).
   */
  async claimWaitingWeb(webUserId: string, limit = 100): Promise<Array<{ replyId: string; text: string; at: EpochMillis }>> {
    const rows = await query(this.pool, `
      WITH claimed AS (
        UPDATE channel_deliveries SET status = 'delivered', updated_at = now()
        WHERE channel = 'web' AND operation IN ('text', 'prompt') AND status = 'waiting' AND target_key IN ($1, $2)
        RETURNING reply_id, operation
      )
      SELECT m.reply_id, m.text, m.at_ms FROM claimed c JOIN channel_messages m ON m.message_key = 'reply:' || c.reply_id
      WHERE c.operation = 'text'
      ORDER BY m.seq DESC LIMIT $3`, [`conversation:${webUserId}`, `user:${webUserId}`, limit]);
    return rows.map((r) => ({ replyId: String(r.reply_id), text: String(r.text), at: Number(r.at_ms) })).reverse();
  }

  async markWebDelivered(replyId: string, webUserId: string): Promise<void> {
    await query(this.pool, `UPDATE channel_deliveries SET status = 'delivered', updated_at = now()
      WHERE reply_id = $1 AND channel = 'web' AND target_key IN ($2, $3) AND status IN ('pending', 'waiting')`, [replyId, `conversation:${webUserId}`, `user:${webUserId}`]);
  }

  /** Pending prompts shown (or to be shown) to this web identity. */
  async pendingPromptsForWeb(webUserId: string, now: EpochMillis): Promise<ApprovalPrompt[]> {
    const rows = await query(this.pool, `
      SELECT p.prompt FROM channel_approval_prompts p
      WHERE p.status = 'pending' AND p.deadline_ms > $2 AND p.expired_emitted_ms IS NULL
        AND EXISTS (SELECT 1 FROM channel_prompt_refs r WHERE r.decision_id = p.decision_id AND r.channel = 'web' AND r.conversation_id = $1)
      ORDER BY p.deadline_ms`, [webUserId, now]);
    return rows.map((r) => r.prompt as ApprovalPrompt);
  }

  // ------------------------------------------------------------------------------------------
  // Prompts

  async prompt(decisionId: string): Promise<StoredPrompt | null> {
    const rows = await query(this.pool, 'SELECT * FROM channel_approval_prompts WHERE decision_id = $1', [decisionId]);
    return rows[0] ? toStoredPrompt(rows[0]) : null;
  }

  async promptRefs(decisionId: string): Promise<PromptRef[]> {
    const rows = await query(this.pool, 'SELECT channel, conversation_id, message_id FROM channel_prompt_refs WHERE decision_id = $1 ORDER BY created_at, channel', [decisionId]);
    return rows.map((r) => ({ channel: r.channel as ChannelName, conversationId: String(r.conversation_id), messageId: String(r.message_id), decisionId }));
  }

  async addPromptRef(ref: PromptRef, recipientUserId: string | null): Promise<void> {
    await query(this.pool, `INSERT INTO channel_prompt_refs (decision_id, channel, conversation_id, message_id, recipient_user_id)
      VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING`, [ref.decisionId, ref.channel, ref.conversationId, ref.messageId, recipientUserId]);
  }

  /**
   * Runs `emit` for prompts past their deadline that have not expired yet, each row locked
   * (FOR UPDATE SKIP LOCKED) until the transaction that marks it emitted commits: one replica
   * at a time handles a given decision, and a crash before the commit only repeats the same
   * (deterministic) event.
   */
  async expireDue(now: EpochMillis, limit: number, emit: (prompts: StoredPrompt[]) => Promise<void>): Promise<StoredPrompt[]> {
    return withTransaction(this.pool, async (client) => {
      const rows = await client.query(`SELECT * FROM channel_approval_prompts
        WHERE scope = $3 AND status = 'pending' AND expired_emitted_ms IS NULL AND deadline_ms <= $1
        ORDER BY deadline_ms LIMIT $2 FOR UPDATE SKIP LOCKED`, [now, limit, this.scope]);
      const due = rows.rows.map((r) => toStoredPrompt(r as Record<string, unknown>));
      if (due.length === 0) return due;
      await emit(due);
      await client.query('UPDATE channel_approval_prompts SET expired_emitted_ms = $2, updated_at = now() WHERE decision_id = ANY($1::text[])', [due.map((p) => p.decisionId), now]);
      return due;
    });
  }

  async pendingApprovals(): Promise<number> {
    const rows = await query(this.pool, `SELECT count(*)::int AS n FROM channel_approval_prompts WHERE scope = $1 AND status = 'pending' AND expired_emitted_ms IS NULL`, [this.scope]);
    return Number(rows[0]?.n ?? 0);
  }
}
