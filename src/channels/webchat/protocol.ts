// The web chat protocol (docs/webchat-protocol.md): JSON text frames over WS /ws, validated by
// schemas/json/webchat-client.schema.json (browser -> server) and webchat-server.schema.json
// (server -> browser). Pure: parsing and frame building, no sockets.
import type { ApprovalPrompt } from '../../domain/types.ts';
import type { ErrorCode } from '../../errors/index.ts';
import { fieldProblems, uniquePaths, validateWebchatClientFrame } from '../schemas.ts';

export const WEBCHAT_PROTOCOL_VERSION = 1;
/** Longest chat message the page may send (the schema says the same). */
export const WEBCHAT_MAX_TEXT = 2000;

export type ClientFrame =
  | { type: 'hello'; protocol: 1; userId: string; token?: string }
  | { type: 'message'; id: string; text: string }
  | { type: 'answer'; id: string; decisionId: string; verdict: 'approve' | 'deny' }
  | { type: 'ping'; id?: string };

export interface WebPromptBody {
  decisionId: string;
  intentId: string;
  requester: { userId: string; displayName: string | null };
  actionSummary: string;
  riskTier: ApprovalPrompt['riskTier'];
  reason: string;
  /** ISO 8601 (UTC). */
  deadline: string;
  approvers: string[];
  requiredApprovals: number;
  status: ApprovalPrompt['status'];
  decidedBy: string | null;
}

export type ServerFrame =
  | {
      type: 'welcome';
      sessionId: string;
      conversationId: string;
      user: { userId: string; displayName: string | null; roles: string[]; guest: boolean };
      maxTextLength: number;
    }
  | { type: 'ack'; id: string; messageId?: string }
  | { type: 'reply'; messageId: string; text: string; at: string }
  | { type: 'prompt'; messageId: string; prompt: WebPromptBody }
  | { type: 'prompt-update'; messageId: string; prompt: WebPromptBody }
  | { type: 'error'; code: ErrorCode; message: string; id?: string; paths?: string[] }
  | { type: 'pong'; id?: string };

export type ParsedClientFrame =
  | { ok: true; frame: ClientFrame }
  | { ok: false; error: Extract<ServerFrame, { type: 'error' }> };

function errorFrame(code: ErrorCode, message: string, extra: { id?: string; paths?: string[] } = {}): Extract<ServerFrame, { type: 'error' }> {
  return { type: 'error', code, message, ...extra };
}

/** The frame id, when a bad frame still carries a readable one, so the page can match the error. */
function idOf(value: unknown): string | undefined {
  const id = (value as { id?: unknown } | null)?.id;
  return typeof id === 'string' && /^[A-Za-z0-9_-]{1,64}$/.test(id) ? id : undefined;
}

/** Reads one inbound frame: size, JSON, schema. Never throws. */
export function parseClientFrame(data: Buffer | string, isBinary: boolean, maxBytes: number): ParsedClientFrame {
  if (isBinary) return { ok: false, error: errorFrame('SNT_UNSUPPORTED_MEDIA_TYPE', 'frames must be JSON text, not binary') };
  const bytes = typeof data === 'string' ? Buffer.byteLength(data, 'utf8') : data.length;
  if (bytes > maxBytes) return { ok: false, error: errorFrame('SNT_PAYLOAD_TOO_LARGE', `a frame may be ${maxBytes} bytes at most`) };
  let value: unknown;
  try {
    value = JSON.parse(typeof data === 'string' ? data : data.toString('utf8'));
  } catch {
    return { ok: false, error: errorFrame('SNT_MALFORMED_JSON', 'the frame is not valid JSON') };
  }
  if (!validateWebchatClientFrame(value)) {
    const problems = fieldProblems(validateWebchatClientFrame.errors);
    const id = idOf(value);
    return {
      ok: false,
      error: errorFrame('SNT_VALIDATION_FAILED', `invalid frame: ${problems.map((p) => `${p.path || '/'} ${p.message}`).join('; ')}`, {
        paths: uniquePaths(problems), ...(id ? { id } : {}),
      }),
    };
  }
  return { ok: true, frame: value as ClientFrame };
}

export function webPromptBody(prompt: ApprovalPrompt): WebPromptBody {
  return {
    decisionId: prompt.decisionId,
    intentId: prompt.intentId,
    requester: { userId: prompt.requester.userId, displayName: prompt.requester.displayName },
    actionSummary: prompt.actionSummary,
    riskTier: prompt.riskTier,
    reason: prompt.reason,
    deadline: new Date(prompt.deadline).toISOString(),
    approvers: [...prompt.approvers],
    requiredApprovals: prompt.requiredApprovals,
    status: prompt.status,
    decidedBy: prompt.decidedBy,
  };
}

export { errorFrame };
