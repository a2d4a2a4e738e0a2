// Fast paths for the two canonical forms every decision computes: the action digest and the context
// snapshot. Both shapes are fixed, so building the object with its keys already in RFC 8785 order and
// letting JSON.stringify (whose escaping and number form JCS adopts) write it gives the same text as
// src/canonical/jcs.ts, several times faster. Anything outside the expected shape (extra keys, a
// lone surrogate, an unsafe integer) falls back to the reference implementation, which also throws
// where it must. A property test holds the two outputs equal.
import { hash } from 'node:crypto';
import { actionDigest } from '../canonical/digest.ts';
import { canonicalize } from '../canonical/jcs.ts';
import type { Action } from '../domain/types.ts';
import type { ContextSnapshot } from './context.ts';

/** Same value as sha256Tagged from src/canonical/digest.ts, through the faster one-shot hash API. */
export function sha256TaggedFast(text: string): string {
  return `sha256:${hash('sha256', text, 'hex')}`;
}

function plainString(value: unknown): value is string {
  return typeof value === 'string' && value.isWellFormed();
}

function plainNumber(value: unknown): value is number {
  return typeof value === 'number' && Number.isFinite(value) && (!Number.isInteger(value) || Number.isSafeInteger(value));
}

function optionalString(value: unknown): value is string | null {
  return value === null || plainString(value);
}

function optionalNumber(value: unknown): value is number | null {
  return value === null || plainNumber(value);
}

function isPlainWithKeys(value: object, count: number): boolean {
  const proto = Object.getPrototypeOf(value);
  if (proto !== Object.prototype && proto !== null) return false;
  let n = 0;
  for (const key in value) {
    if (!Object.hasOwn(value, key)) return false;
    n++;
  }
  return n === count;
}

function orderedAction(action: Action): object | null {
  const a = action as unknown as Record<string, unknown>;
  switch (action.type) {
    case 'transfer':
      return isPlainWithKeys(a, 5) && plainNumber(a.amountMinor) && plainString(a.currency) && optionalString(a.memo) && plainString(a.payee)
        ? { amountMinor: a.amountMinor, currency: a.currency, memo: a.memo, payee: a.payee, type: a.type }
        : null;
    case 'message_send':
      return isPlainWithKeys(a, 5) && plainString(a.body) && plainString(a.medium) && plainString(a.recipient) && optionalString(a.subject)
        ? { body: a.body, medium: a.medium, recipient: a.recipient, subject: a.subject, type: a.type }
        : null;
    case 'command_run':
      return isPlainWithKeys(a, 3) && plainString(a.command) && plainString(a.host)
        ? { command: a.command, host: a.host, type: a.type }
        : null;
    case 'tool_call':
      return isPlainWithKeys(a, 3) && plainString(a.argumentsJson) && plainString(a.tool)
        ? { argumentsJson: a.argumentsJson, tool: a.tool, type: a.type }
        : null;
    default:
      return null;
  }
}

/** Same value as actionDigest(action) from src/canonical/digest.ts. */
export function fastActionDigest(action: Action): string {
  const ordered = orderedAction(action);
  return ordered === null ? actionDigest(action) : sha256TaggedFast(JSON.stringify(ordered));
}

/** Same text as canonicalize(snapshot). */
export function canonicalSnapshotJson(snapshot: ContextSnapshot): string {
  const c = snapshot.context;
  const i = snapshot.intent;
  if (isPlainWithKeys(snapshot, 3) && isPlainWithKeys(c, 10) && isPlainWithKeys(i, 3)
    && plainNumber(c.actionsLast10Min) && plainNumber(c.actionsLastHour) && optionalNumber(c.counterpartyFirstSeenAt)
    && plainNumber(c.denialsLast24h) && optionalString(c.nearestDeniedIntentId) && plainNumber(c.nearestDeniedSimilarity)
    && plainNumber(c.transferredTodayMinor) && plainNumber(c.transfersToday) && plainNumber(c.userDecisionsTotal)
    && optionalNumber(c.userFirstSeenAt) && plainNumber(i.confidence) && plainString(i.extractor) && plainString(i.source)
    && plainNumber(snapshot.v)) {
    return JSON.stringify({
      context: {
        actionsLast10Min: c.actionsLast10Min,
        actionsLastHour: c.actionsLastHour,
        counterpartyFirstSeenAt: c.counterpartyFirstSeenAt,
        denialsLast24h: c.denialsLast24h,
        nearestDeniedIntentId: c.nearestDeniedIntentId,
        nearestDeniedSimilarity: c.nearestDeniedSimilarity,
        transferredTodayMinor: c.transferredTodayMinor,
        transfersToday: c.transfersToday,
        userDecisionsTotal: c.userDecisionsTotal,
        userFirstSeenAt: c.userFirstSeenAt,
      },
      intent: { confidence: i.confidence, extractor: i.extractor, source: i.source },
      v: snapshot.v,
    });
  }
  return canonicalize(snapshot);
}
