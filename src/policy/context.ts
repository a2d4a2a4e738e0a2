// The context a decision reads: its neutral value, the facts derived from it, the snapshot written
// into every decision (so replay needs no store), and how one decision changes the next context.
import { canonicalSnapshotJson, sha256TaggedFast } from './canonical-fast.ts';
import type { Action, Decision, EpochMillis, Intent } from '../domain/types.ts';
import type { DerivedFacts, PolicyContext } from './types.ts';

const MINUTE_MS = 60_000;
const DAY_MS = 86_400_000;

/** The context of a user with no history at all. */
export function emptyContext(): PolicyContext {
  return {
    transferredTodayMinor: 0,
    transfersToday: 0,
    actionsLast10Min: 0,
    actionsLastHour: 0,
    denialsLast24h: 0,
    counterpartyFirstSeenAt: null,
    userFirstSeenAt: null,
    userDecisionsTotal: 0,
    nearestDeniedSimilarity: 0,
    nearestDeniedIntentId: null,
  };
}

// ---------------------------------------------------------------------------------------------
// Counterparties: payees of transfers and recipients of messages, normalised so that "Alice " and
// "alice" are one payee.

export type CounterpartyKind = 'payee' | 'recipient';

export interface Counterparty { kind: CounterpartyKind; name: string }

export function counterpartyOf(action: Action): Counterparty | null {
  switch (action.type) {
    case 'transfer': return { kind: 'payee', name: action.payee.trim().replace(/\s+/g, ' ').toLowerCase() };
    case 'message_send': return { kind: 'recipient', name: action.recipient.trim().toLowerCase() };
    default: return null;
  }
}

/** The UTC day of `at` as YYYYMMDD: the key of daily transfer totals. */
export function utcDay(at: EpochMillis): string {
  return new Date(at).toISOString().slice(0, 10).replaceAll('-', '');
}

// ---------------------------------------------------------------------------------------------
// Derived facts

const CURRENCY_EXPONENT: Readonly<Record<string, number>> = {
  JPY: 0, KRW: 0, VND: 0, CLP: 0, ISK: 0, UGX: 0, XAF: 0, XOF: 0, PYG: 0, RWF: 0,
  BHD: 3, KWD: 3, OMR: 3, JOD: 3, TND: 3, IQD: 3, LYD: 3,
};

export function formatMinor(amountMinor: number, currency: string): string {
  const exponent = CURRENCY_EXPONENT[currency] ?? 2;
  const sign = amountMinor < 0 ? '-' : '';
  const abs = Math.abs(amountMinor);
  if (exponent === 0) return `${sign}${abs} ${currency}`;
  const unit = 10 ** exponent;
  const minor = String(abs % unit).padStart(exponent, '0');
  return `${sign}${Math.floor(abs / unit)}.${minor} ${currency}`;
}

const SHELL_OPERATORS = /[;&|`$<>(){}\\\n\r]/;

function commandName(command: string): string {
  const first = command.trim().split(/\s+/, 1)[0] ?? '';
  return first.slice(first.lastIndexOf('/') + 1);
}

function wholeUnitsSince(since: EpochMillis | null, now: EpochMillis, unitMs: number): number {
  return since === null ? 0 : Math.max(0, Math.floor((now - since) / unitMs));
}

export function deriveFacts(intent: Intent, context: PolicyContext, now: EpochMillis): DerivedFacts {
  const action = intent.action;
  const facts: DerivedFacts = {
    counterpartyKnown: context.counterpartyFirstSeenAt !== null,
    counterpartyAgeMinutes: wholeUnitsSince(context.counterpartyFirstSeenAt, now, MINUTE_MS),
    userAgeDays: wholeUnitsSince(context.userFirstSeenAt, now, DAY_MS),
    projectedTodayMinor: 0,
    amountDisplay: '',
    projectedTodayDisplay: '',
    recipientDomain: '',
    commandName: '',
    commandHasShellOperators: false,
  };
  switch (action.type) {
    case 'transfer':
      facts.projectedTodayMinor = context.transferredTodayMinor + action.amountMinor;
      facts.amountDisplay = formatMinor(action.amountMinor, action.currency);
      facts.projectedTodayDisplay = formatMinor(facts.projectedTodayMinor, action.currency);
      break;
    case 'message_send': {
      const at = action.recipient.lastIndexOf('@');
      facts.recipientDomain = at < 0 ? '' : action.recipient.slice(at + 1).trim().toLowerCase();
      break;
    }
    case 'command_run':
      facts.commandName = commandName(action.command);
      facts.commandHasShellOperators = SHELL_OPERATORS.test(action.command);
      break;
    default:
      break;
  }
  return facts;
}

// ---------------------------------------------------------------------------------------------
// Snapshot: everything `decide` read that the Decision does not already carry.

export const SNAPSHOT_VERSION = 1;

export interface ContextSnapshot {
  v: number;
  context: PolicyContext;
  intent: { source: Intent['source']; extractor: string; confidence: number };
}

export function snapshotFor(intent: Intent, context: PolicyContext): { snapshotJson: string; digest: string } {
  const snapshot: ContextSnapshot = {
    v: SNAPSHOT_VERSION,
    context,
    intent: { source: intent.source, extractor: intent.extraction.extractor, confidence: intent.extraction.confidence },
  };
  const snapshotJson = canonicalSnapshotJson(snapshot);
  return { snapshotJson, digest: sha256TaggedFast(snapshotJson) };
}

export function parseSnapshot(snapshotJson: string): ContextSnapshot {
  const parsed = JSON.parse(snapshotJson) as ContextSnapshot;
  if (parsed.v !== SNAPSHOT_VERSION) throw new RangeError(`unsupported context snapshot version ${String(parsed.v)}`);
  return parsed;
}

/** The intent a decision was made for, as far as `decide` reads it, rebuilt from the decision. */
export function intentFromDecision(decision: Decision, snapshot: ContextSnapshot): Intent {
  return {
    intentId: decision.intentId,
    conversation: decision.conversation,
    requester: decision.requester,
    source: snapshot.intent.source,
    text: null,
    action: decision.action,
    extraction: { extractor: snapshot.intent.extractor, confidence: snapshot.intent.confidence },
    submittedAt: decision.decidedAt,
  };
}

// ---------------------------------------------------------------------------------------------
// How a recorded decision changes the context of a later intent of the same user. The stores apply
// the same rules to their counters; decideBatch uses this for intents of one batch.

const TEN_MINUTES_MS = 10 * MINUTE_MS;
const HOUR_MS = 60 * MINUTE_MS;

/** True when a decision counts towards daily totals and makes its counterparty known. */
export function commitsAction(decision: Decision): boolean {
  return decision.outcome !== 'deny';
}

export function applyDecision(context: PolicyContext, intent: Intent, decision: Decision, now: EpochMillis): PolicyContext {
  if (decision.requester.userId !== intent.requester.userId) return context;
  const age = now - decision.decidedAt;
  const next: PolicyContext = { ...context };
  if (age < TEN_MINUTES_MS) next.actionsLast10Min += 1;
  if (age < HOUR_MS) next.actionsLastHour += 1;
  if (decision.outcome === 'deny' && age < DAY_MS) next.denialsLast24h += 1;
  next.userDecisionsTotal += 1;
  if (next.userFirstSeenAt === null || decision.decidedAt < next.userFirstSeenAt) next.userFirstSeenAt = decision.decidedAt;
  if (!commitsAction(decision)) return next;
  const done = decision.action;
  const upcoming = intent.action;
  if (done.type === 'transfer' && upcoming.type === 'transfer' && done.currency === upcoming.currency
    && utcDay(decision.decidedAt) === utcDay(now)) {
    next.transferredTodayMinor += done.amountMinor;
    next.transfersToday += 1;
  }
  const doneParty = counterpartyOf(done);
  const upcomingParty = counterpartyOf(upcoming);
  if (doneParty !== null && upcomingParty !== null && doneParty.kind === upcomingParty.kind && doneParty.name === upcomingParty.name
    && (next.counterpartyFirstSeenAt === null || decision.decidedAt < next.counterpartyFirstSeenAt)) {
    next.counterpartyFirstSeenAt = decision.decidedAt;
  }
  return next;
}
