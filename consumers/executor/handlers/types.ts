// The executor's handler port: one handler per action type, run only for verified approvals,
// inside the PostgreSQL transaction that also records the execution (so a PostgreSQL-only effect
// commits exactly when the approval is marked used). Handlers never see refused approvals.
import type { ApprovalPayload } from '../../../src/approval/payload.ts';
import type { Action, ActionType, ConversationRef } from '../../../src/domain/types.ts';
import type { HandlerOutcome } from '../outcome.ts';

/** The part of a pg client a handler may use (the transaction's client). */
export interface Queryable {
  query<R extends Record<string, unknown> = Record<string, unknown>>(text: string, values?: unknown[]): Promise<{ rows: R[]; rowCount: number | null }>;
}

export interface ExecutionContext<A extends Action = Action> {
  action: A;
  approval: { approvalId: string; intentId: string; decisionId: string; conversation: ConversationRef };
  /** The verified, signed payload (requester, approvers, risk tier ...). */
  payload: ApprovalPayload;
  executionId: string;
  now: number;
  db: Queryable;
}

export interface ActionHandler<T extends ActionType = ActionType> {
  readonly type: T;
  /** Writes to PostgreSQL: run inside a savepoint, so a throw undoes its partial writes. */
  readonly transactional: boolean;
  execute(context: ExecutionContext<Extract<Action, { type: T }>>): Promise<HandlerOutcome>;
}

export type AnyHandler = { [T in ActionType]: ActionHandler<T> }[ActionType];
