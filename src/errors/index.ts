// The closed set of Sentinel error codes (documented in docs/errors.md; a test keeps the two in step).
// Untrusted input fails with a SentinelError carrying one of these codes; programmer misuse throws
// TypeError/RangeError, which are never retried.
import { APPROVAL_CODES } from './approval.ts';
import { CHANNEL_CODES } from './channels.ts';
import { CORE_CODES } from './core.ts';
import { EXECUTOR_CODES } from './executor.ts';
import { POLICY_CODES } from './policy.ts';
import type { ErrorCodeSpec } from './spec.ts';

export type { ErrorCodeSpec } from './spec.ts';

export const ERROR_CODES = {
  ...CORE_CODES,
  ...POLICY_CODES,
  ...APPROVAL_CODES,
  ...EXECUTOR_CODES,
  ...CHANNEL_CODES,
} as const satisfies Record<string, ErrorCodeSpec>;

export type ErrorCode = keyof typeof ERROR_CODES;

export function isErrorCode(value: string): value is ErrorCode {
  return Object.hasOwn(ERROR_CODES, value);
}

export class SentinelError extends Error {
  override readonly name = 'SentinelError';
  readonly code: ErrorCode;
  readonly status: number;
  readonly retriable: boolean;
  /** Structured, non-secret context (field paths, ids). Safe to log and to return to callers. */
  readonly details: Readonly<Record<string, unknown>>;

  constructor(code: ErrorCode, message: string, options: { cause?: unknown; details?: Record<string, unknown> } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    const spec: ErrorCodeSpec = ERROR_CODES[code];
    this.code = code;
    this.status = spec.status;
    this.retriable = spec.retriable;
    this.details = options.details ?? {};
  }

  toJSON(): { code: ErrorCode; message: string; details: Readonly<Record<string, unknown>> } {
    return { code: this.code, message: this.message, details: this.details };
  }
}

export function isSentinelError(error: unknown, code?: ErrorCode): error is SentinelError {
  return error instanceof SentinelError && (code === undefined || error.code === code);
}

const PROGRAMMER_ERRORS = new Set(['TypeError', 'RangeError', 'ReferenceError', 'SyntaxError']);
const NETWORK_ERROR_CODES = new Set([
  'ECONNREFUSED', 'ECONNRESET', 'EPIPE', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'EAI_AGAIN', 'ENOTFOUND',
  '57P01', '57P02', '57P03', '08000', '08001', '08003', '08006', // PostgreSQL: admin shutdown, cannot connect
]);

export type FailureClass = 'transient' | 'permanent' | 'unknown';

/**
 * How a failure should be handled by retry loops and consumers:
 * - transient: a dependency is down or slow; retry with backoff for as long as it takes, commit nothing;
 * - permanent: this input can never succeed (bad record, programmer error); dead-letter it at once;
 * - unknown: retry a bounded number of times, then dead-letter with the cause.
 */
export function classifyFailure(error: unknown): FailureClass {
  if (error instanceof SentinelError) return error.retriable ? 'transient' : 'permanent';
  if (error instanceof Error) {
    if (PROGRAMMER_ERRORS.has(error.name)) return 'permanent';
    const code = (error as { code?: unknown }).code;
    if (typeof code === 'string' && NETWORK_ERROR_CODES.has(code)) return 'transient';
    if (/connection|connect|socket|closed|timeout|ECONN|not ready|unavailable/i.test(error.message)) return 'transient';
  }
  return 'unknown';
}
