// Builders for policy tests: intents of each action type, contexts, and the default constitution.
import { randomUUID } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import type { Action, Intent } from '../../src/domain/types.ts';
import { emptyContext } from '../../src/policy/context.ts';
import { loadRuleSet } from '../../src/policy/load.ts';
import type { CompiledRuleSet, PolicyContext } from '../../src/policy/types.ts';

export const CONSTITUTION_PATH = fileURLToPath(new URL('../../policy/constitution.yaml', import.meta.url));

/** 2026-11-25T12:00:00Z: a fixed "now" far from a UTC day boundary. */
export const NOW = Date.UTC(2026, 10, 25, 12, 0, 0);
export const MINUTE = 60_000;
export const HOUR = 60 * MINUTE;
export const DAY = 24 * HOUR;

let defaultRules: Promise<CompiledRuleSet> | null = null;
export function defaultRuleSet(): Promise<CompiledRuleSet> {
  defaultRules ??= loadRuleSet(CONSTITUTION_PATH);
  return defaultRules;
}

export function transfer(amountMinor: number, payee = 'Bob Builder', currency = 'USD'): Action {
  return { type: 'transfer', amountMinor, currency, payee, memo: null };
}

export function email(recipient: string, body = 'the report is attached'): Action {
  return { type: 'message_send', medium: 'email', recipient, subject: 'report', body };
}

export function command(line: string, host = 'build-01'): Action {
  return { type: 'command_run', host, command: line };
}

export function tool(name: string, argumentsJson = '{}'): Action {
  return { type: 'tool_call', tool: name, argumentsJson };
}

export function intentFor(action: Action, overrides: Partial<Intent> & { userId?: string } = {}): Intent {
  const { userId, ...rest } = overrides;
  const intentId = rest.intentId ?? randomUUID();
  const user = userId ?? 'user-alice';
  return {
    intentId,
    conversation: { channel: 'web', conversationId: `conv-${user}` },
    requester: { userId: user, channel: 'web', channelUserId: `web-${user}`, displayName: null },
    source: 'chat',
    text: null,
    action,
    extraction: { extractor: 'test', confidence: 0.95 },
    submittedAt: NOW,
    ...rest,
  };
}

/** A user with a long history and a payee known for a year: nothing about the context is risky. */
export function calmContext(overrides: Partial<PolicyContext> = {}): PolicyContext {
  return {
    ...emptyContext(),
    counterpartyFirstSeenAt: NOW - 365 * DAY,
    userFirstSeenAt: NOW - 400 * DAY,
    userDecisionsTotal: 120,
    ...overrides,
  };
}
