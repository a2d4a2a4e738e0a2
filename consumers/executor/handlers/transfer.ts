// Transfers, simulated against a ledger in PostgreSQL (migration 300): the requester's account
// (opened on first use with a simulated opening balance) is debited and the payee's credited, two
// ledger entries per transfer, in the execution's transaction. Insufficient funds → failed.
import { formatAmount } from '../../../src/domain/summary.ts';
import type { TransferAction } from '../../../src/domain/types.ts';
import { storableText } from '../../../src/policy/store/pg-history.ts';
import type { ActionHandler, ExecutionContext } from './types.ts';

/** Simulated opening balance of a user's account: 1,000,000.00 in the currency's minor units x 100. */
export const DEFAULT_OPENING_BALANCE_MINOR = 100_000_000;

export function accountsOf(context: ExecutionContext<TransferAction>): { from: string; to: string } {
  return { from: `user:${context.payload.requester.userId}`, to: `payee:${context.action.payee.trim().toLowerCase()}` };
}

export function transferHandler(options: { openingBalanceMinor?: number } = {}): ActionHandler<'transfer'> {
  const opening = options.openingBalanceMinor ?? DEFAULT_OPENING_BALANCE_MINOR;
  return {
    type: 'transfer',
    transactional: true,
    async execute(context) {
      const { action, db } = context;
      const { from, to } = accountsOf(context);
      const memo = action.memo === null ? null : storableText(action.memo);
      await db.query(
        'INSERT INTO executor_accounts (account, currency, balance_minor) VALUES ($1, $3, $4), ($2, $3, 0) ON CONFLICT (account, currency) DO NOTHING',
        [storableText(from), storableText(to), action.currency, opening],
      );
      const debit = await db.query<{ balance_minor: string }>(
        'UPDATE executor_accounts SET balance_minor = balance_minor - $3 WHERE account = $1 AND currency = $2 AND balance_minor >= $3 RETURNING balance_minor',
        [storableText(from), action.currency, action.amountMinor],
      );
      if (debit.rows.length === 0) {
        return { status: 'failed', code: 'SNT_EXEC_HANDLER_FAILED', reason: `insufficient funds in ${from} for ${formatAmount(action.amountMinor, action.currency)}` };
      }
      await db.query(
        `WITH credit AS (UPDATE executor_accounts SET balance_minor = balance_minor + $4 WHERE account = $2 AND currency = $3 RETURNING 1)
         INSERT INTO executor_ledger_entries (approval_id, execution_id, account, currency, amount_minor, memo)
         SELECT $5, $6, a, $3, m, $7 FROM (VALUES ($1, -$4::bigint), ($2, $4::bigint)) AS legs(a, m), credit`,
        [storableText(from), storableText(to), action.currency, action.amountMinor, context.approval.approvalId, context.executionId, memo],
      );
      const balance = Number(debit.rows[0]!.balance_minor);
      return {
        status: 'executed',
        summary: `${formatAmount(action.amountMinor, action.currency)} moved from ${from} to ${to} (simulated ledger)`,
        result: { ledger: { from, to, amountMinor: action.amountMinor, currency: action.currency, fromBalanceMinor: balance } },
      };
    },
  };
}
