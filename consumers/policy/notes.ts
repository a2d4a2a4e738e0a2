// Context notes (POST /api/context) in PostgreSQL.
import type pg from 'pg';
import { asDependencyError } from '../../src/db/pg.ts';
import { storableText } from '../../src/policy/store/pg-history.ts';

export interface ContextNote { userId: string; conversationId: string | null; text: string; tags: string[]; at: number }

export interface ContextNotes {
  add(note: ContextNote): Promise<void>;
  list(userId: string, conversationId: string | null, limit: number): Promise<ContextNote[]>;
}

export function postgresContextNotes(pool: pg.Pool): ContextNotes {
  return {
    async add(note) {
      await pool.query(
        'INSERT INTO policy_context_notes (user_id, conversation_id, text, tags, created_at) VALUES ($1, $2, $3, $4, to_timestamp($5 / 1000.0))',
        [storableText(note.userId), note.conversationId === null ? null : storableText(note.conversationId), storableText(note.text), note.tags.map(storableText), note.at],
      ).catch((error: unknown) => { throw asDependencyError(error); });
    },
    async list(userId, conversationId, limit) {
      const result = await pool.query<{ user_id: string; conversation_id: string | null; text: string; tags: string[]; at: string }>(
        `SELECT user_id, conversation_id, text, tags, (extract(epoch FROM created_at) * 1000)::bigint AS at FROM policy_context_notes
         WHERE user_id = $1 AND ($2::text IS NULL OR conversation_id = $2) ORDER BY created_at DESC, id DESC LIMIT $3`,
        [userId, conversationId, limit],
      ).catch((error: unknown) => { throw asDependencyError(error); });
      return result.rows.map((r) => ({ userId: r.user_id, conversationId: r.conversation_id, text: r.text, tags: r.tags, at: Number(r.at) }));
    },
  };
}
