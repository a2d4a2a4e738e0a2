import type { ErrorCodeSpec } from './spec.ts';

/** Codes of the executor's handlers (verification codes live in approval.ts). */
export const EXECUTOR_CODES = {
  SNT_EXEC_NO_HANDLER: { status: 422, retriable: false, summary: 'No handler is registered for the action type.' },
  SNT_EXEC_HANDLER_FAILED: { status: 500, retriable: false, summary: 'The handler ran and failed; the result says why.' },
  SNT_EXEC_COMMAND_NOT_ALLOWED: { status: 422, retriable: false, summary: 'The command is not on COMMAND_ALLOWLIST or uses shell syntax; nothing was run.' },
} as const satisfies Record<string, ErrorCodeSpec>;
