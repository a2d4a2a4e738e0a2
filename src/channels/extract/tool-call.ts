// Structured tool calls from agents skip text extraction: the call is checked against the action
// schema (schemas/json/action.schema.json) and becomes a typed Action, or fails with a validation
// error naming each field. A tool the schema does not know becomes a `tool_call` action carrying
// the canonical JSON of its arguments, so policy sees it (and, by default, denies it).
import { CanonicalizationError, canonicalize } from '../../canonical/jcs.ts';
import type { Action } from '../../domain/types.ts';
import type { SentinelError } from '../../errors/index.ts';
import { fieldProblems, validateActionSchema, validationError } from '../schemas.ts';

/** Tool names that map onto typed actions; the arguments are the action's fields without `type`. */
export const TYPED_TOOLS = ['transfer', 'message_send', 'command_run'] as const;
export type TypedTool = (typeof TYPED_TOOLS)[number];

/** Fields an agent may leave out; they default to null. */
const NULLABLE_DEFAULTS: Readonly<Record<TypedTool, readonly string[]>> = {
  transfer: ['memo'],
  message_send: ['subject'],
  command_run: [],
};

const TOOL_NAME = /^[A-Za-z][A-Za-z0-9_.:-]{0,63}$/;

export interface ToolCall {
  tool: unknown;
  arguments: unknown;
}

export type ToolCallResult = { ok: true; action: Action } | { ok: false; error: SentinelError };

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value) && Object.getPrototypeOf(value) === Object.prototype;
}

function fail(problems: Array<{ path: string; message: string }>): ToolCallResult {
  return { ok: false, error: validationError('invalid tool call', problems) };
}

/**
 * Validates an agent's tool call and turns it into an Action. Field paths in errors are JSON
 * Pointers into the call: "/tool", "/arguments/amountMinor", ...
 */
export function actionFromToolCall(call: ToolCall): ToolCallResult {
  const { tool } = call;
  if (typeof tool !== 'string' || !TOOL_NAME.test(tool)) {
    return fail([{ path: '/tool', message: 'must be a tool name: a letter, then letters, digits, "_", ".", ":" or "-" (64 at most)' }]);
  }
  const args = call.arguments ?? {};
  if (!isPlainObject(args)) return fail([{ path: '/arguments', message: 'must be an object' }]);

  let candidate: Record<string, unknown>;
  if ((TYPED_TOOLS as readonly string[]).includes(tool)) {
    const typed = tool as TypedTool;
    if (Object.hasOwn(args, 'type')) return fail([{ path: '/arguments/type', message: 'is not allowed (the tool name gives the type)' }]);
    candidate = { type: typed };
    for (const field of NULLABLE_DEFAULTS[typed]) candidate[field] = null;
    Object.assign(candidate, args);
  } else {
    let argumentsJson: string;
    try {
      argumentsJson = canonicalize(args);
    } catch (error) {
      if (error instanceof CanonicalizationError) return fail([{ path: `/arguments${error.path}`, message: error.message.replace(/ at \S*$/, '') }]);
      throw error;
    }
    candidate = { type: 'tool_call', tool, argumentsJson };
  }

  if (!validateActionSchema(candidate)) {
    const problems = fieldProblems(validateActionSchema.errors).map((p) => ({
      path: candidate.type === 'tool_call' ? (p.path === '/tool' ? '/tool' : '/arguments') : `/arguments${p.path}`,
      message: candidate.type === 'tool_call' && p.path === '/argumentsJson' ? `are too large once canonicalised (${p.message})` : p.message,
    }));
    return fail(problems);
  }
  return { ok: true, action: candidate as unknown as Action };
}

/** Validates a complete Action (with `type`), e.g. one read back from a record or a test fixture. */
export function validateAction(value: unknown): ToolCallResult {
  if (validateActionSchema(value)) return { ok: true, action: value as Action };
  return { ok: false, error: validationError('invalid action', fieldProblems(validateActionSchema.errors)) };
}
