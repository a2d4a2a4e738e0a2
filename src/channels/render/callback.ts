// The one encoding of an approval button, shared by every platform ("apv:<decisionId>:<verdict>"),
// and the text fallback "/approve <id>" / "/deny <id>". Pure.
import type { ApprovalVerdict } from '../types.ts';

/** Decision ids that fit every platform's button payload (Telegram callback_data is 64 bytes at most). */
export const DECISION_ID_PATTERN = /^[A-Za-z0-9._-]{1,52}$/;
const CALLBACK = /^apv:([A-Za-z0-9._-]{1,52}):(approve|deny)$/;
const COMMAND = /^\/(approve|deny)(?:@([A-Za-z0-9_]{1,64}))?(?:\s+([A-Za-z0-9._-]{1,64}))?\s*$/i;

export interface ParsedApproval {
  decisionId: string;
  verdict: ApprovalVerdict;
}

export function isButtonableDecisionId(decisionId: string): boolean {
  return DECISION_ID_PATTERN.test(decisionId);
}

/** "apv:<decisionId>:approve". Throws RangeError for an id that cannot ride in a button. */
export function encodeApprovalCallback(decisionId: string, verdict: ApprovalVerdict): string {
  if (!isButtonableDecisionId(decisionId)) throw new RangeError(`decision id cannot be carried by a button: ${JSON.stringify(decisionId)}`);
  return `apv:${decisionId}:${verdict}`;
}

export function parseApprovalCallback(data: unknown): ParsedApproval | null {
  if (typeof data !== 'string') return null;
  const m = CALLBACK.exec(data);
  return m ? { decisionId: m[1]!, verdict: m[2] as ApprovalVerdict } : null;
}

export type ApprovalCommand =
  | { kind: 'answer'; decisionId: string; verdict: ApprovalVerdict }
  /** "/approve" without a usable id: tell the user how to use it. */
  | { kind: 'usage'; verdict: ApprovalVerdict };

/**
 * Recognises "/approve ID" and "/deny ID" (and Telegram's "/approve@BotName ID" in groups).
 * Returns null for any other text, and for a command addressed to a different bot.
 */
export function parseApprovalCommand(text: string, options: { botUsername?: string | null } = {}): ApprovalCommand | null {
  const trimmed = text.trim();
  if (!/^\/(?:approve|deny)\b/i.test(trimmed)) return null;
  const m = COMMAND.exec(trimmed);
  const verdict = (/^\/approve/i.test(trimmed) ? 'approve' : 'deny') as ApprovalVerdict;
  if (!m) return { kind: 'usage', verdict };
  const addressee = m[2];
  if (addressee !== undefined && options.botUsername && addressee.toLowerCase() !== options.botUsername.toLowerCase()) return null;
  const id = m[3];
  if (id === undefined) return { kind: 'usage', verdict };
  return { kind: 'answer', decisionId: id, verdict };
}

export function approvalUsage(verdict: ApprovalVerdict): string {
  return `Usage: /${verdict} <decision id>, e.g. /${verdict} dec_01HZX3. The id is shown on the approval prompt.`;
}
