// One-line human summaries of actions, for prompts, replies and logs. Pure.
import { formatMoney } from './money.ts';
import type { Action } from './types.ts';

/** Exact: the currency's ISO 4217 minor units, no floating point (1234 KWD minor units = 1.234 KWD). */
export function formatAmount(amountMinor: number, currency: string): string {
  return formatMoney(amountMinor, currency);
}

function excerpt(text: string, max = 160): string {
  const oneLine = text.replace(/\s+/g, ' ').trim();
  return oneLine.length <= max ? oneLine : `${oneLine.slice(0, max - 1)}…`;
}

export function summarizeAction(action: Action): string {
  switch (action.type) {
    case 'transfer': return `transfer ${formatAmount(action.amountMinor, action.currency)} to ${action.payee}${action.memo ? ` (${action.memo})` : ''}`;
    case 'message_send': return `send ${action.medium} to ${action.recipient}${action.subject ? ` "${action.subject}"` : ''}: "${excerpt(action.body)}"`;
    case 'command_run': return `run \`${action.command}\` on ${action.host}`;
    case 'tool_call': return `call tool ${action.tool}`;
    default: {
      const exhaustive: never = action;
      return String(exhaustive);
    }
  }
}
