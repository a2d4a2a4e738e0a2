// One-line human summaries of actions, for prompts, replies and logs. Pure.
import type { Action } from './types.ts';

export function formatAmount(amountMinor: number, currency: string): string {
  const digits = ['JPY', 'KRW', 'CLP', 'VND', 'ISK', 'HUF'].includes(currency) ? 0 : 2;
  const major = amountMinor / 10 ** digits;
  return `${major.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits })} ${currency}`;
}

export function summarizeAction(action: Action): string {
  switch (action.type) {
    case 'transfer': return `transfer ${formatAmount(action.amountMinor, action.currency)} to ${action.payee}${action.memo ? ` (${action.memo})` : ''}`;
    case 'message_send': return `send ${action.medium} to ${action.recipient}${action.subject ? `: "${action.subject}"` : ''}`;
    case 'command_run': return `run \`${action.command}\` on ${action.host}`;
    case 'tool_call': return `call tool ${action.tool}`;
    default: {
      const exhaustive: never = action;
      return String(exhaustive);
    }
  }
}
