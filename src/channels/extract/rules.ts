// A deterministic, rule-based intent extractor. Pure: the same text (and pending question) always
// gives the same result. It recognises three families of request and asks whenever a required
// field is missing or unusable, instead of guessing:
//
//   transfer      "transfer $5000 to Alice", "send 250 EUR to Bob for rent", "pay alice 12.50"
//   message_send  "email the report to bob@example.com", "text +15551234567 saying hi",
//                 "message carol saying the build is green"
//   command_run   "run `df -h` on build-01", "run uptime on web-2"
//
// Every action it returns has passed schemas/json/action.schema.json.
import type { Action } from '../../domain/types.ts';
import { findMoney, formatMoney, hasDecimalComma, isKnownCurrency, toMinorUnits } from '../../domain/money.ts';
import { truncate } from '../render/text.ts';
import { fieldProblems, validateActionSchema } from '../schemas.ts';
import type { ExtractionInput, ExtractionResult, IntentExtractor, PendingClarification, Slot } from './types.ts';

export const RULES_EXTRACTOR_NAME = 'rules/1';
/** Longer messages are not parsed (the web chat and HTTP API refuse them earlier). */
export const MAX_EXTRACTION_TEXT = 2000;

export interface RuleExtractorOptions {
  /** Currency for amounts typed without one ("pay alice 12.50"). Default USD. */
  defaultCurrency?: string;
}

export const HELP_TEXT =
  'I can move money, send messages and run commands for you, with approval when the policy asks for it. For example:\n' +
  '• transfer $500 to Alice\n' +
  '• send 250 EUR to Bob for rent\n' +
  '• email the report to bob@example.com\n' +
  '• text +15551234567 saying running late\n' +
  '• run `df -h` on build-01\n' +
  'Approvers can answer a prompt with its buttons, or with /approve <id> or /deny <id>.';

const CONFIDENCE = { explicit: 0.95, filled: 0.9, reordered: 0.9, defaulted: 0.85, loose: 0.8 } as const;

type TransferKnown = { amountMinor: number | null; currency: string | null; payee: string | null; memo: string | null };
type MessageKnown = { medium: 'email' | 'sms' | 'chat'; recipient: string | null; subject: string | null; body: string | null };
type CommandKnown = { host: string | null; command: string | null };

type Draft =
  | { actionType: 'transfer'; known: TransferKnown }
  | { actionType: 'message_send'; known: MessageKnown }
  | { actionType: 'command_run'; known: CommandKnown };

/** What went wrong with a field the user gave, said before asking for it again. */
interface Problem { slot: Slot; text: string }

// ------------------------------------------------------------------------------------------------
// Text helpers

export function normaliseText(text: string): string {
  return text
    .normalize('NFKC')
    .replace(/[\u200B-\u200D\u2060\uFEFF]/g, '')
    .replace(/[\u2018\u2019\u201A\u2032]/g, "'")
    .replace(/[\u201C\u201D\u201E\u2033]/g, '"')
    .replace(/\s+/g, ' ')
    .trim();
}

const POLITE_PREFIX =
  /^(?:(?:hey|hi|hello|ok|okay|so)[,!]?\s+)?(?:(?:please|pls|kindly)\s+)?(?:(?:can|could|would|will) you\s+(?:please\s+)?)?(?:(?:i(?:'d| would) like(?: you)? to|i want(?: you)? to|i need(?: you)? to|go ahead and)\s+)?(?:please\s+)?/i;
const POLITE_SUFFIX = /(?:[,\s]+(?:please|pls|thanks|thank you|thx|for me))+[.!?]*$/i;

function stripPoliteness(text: string): string {
  const core = text.replace(POLITE_PREFIX, '').trim();
  const withoutSuffix = core.replace(POLITE_SUFFIX, '').trim();
  // "pay 5 to Thx", "message bob saying thanks": the word is the payee or the message, not politeness.
  return /\b(?:to|for|saying|says|memo|note|about|on|:)$/i.test(withoutSuffix) || withoutSuffix.endsWith(':') ? core : withoutSuffix;
}

/** Drops closing "!" / "?" and a final "." that ends a word ("web-2." but not "ls ."). */
function stripTrailingPunctuation(text: string): string {
  return text.replace(/[!?]+$/, '').replace(/(?<=[\p{L}\p{N})\]"'`])\.$/u, '').trim();
}

function unquote(text: string): string {
  const t = text.trim();
  const m = /^(["'`])([\s\S]*)\1$/.exec(t);
  return (m ? m[2]! : t).trim();
}

function truncateForQuote(text: string, max = 60): string {
  return truncate(text, max);
}

const EMAIL = /^[^\s@<>()[\]",;:]+@[^\s@<>()[\]",;:]+\.[^\s@<>()[\]",;:]{2,}$/;
const HOST = /^[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$/;

function cleanEmail(token: string): string {
  return stripTrailingPunctuation(token.replace(/^mailto:/i, '').replace(/^<(.*)>$/, '$1'));
}

/** "+1 (555) 123-4567" -> "+15551234567"; null when it is not a phone number at all. */
function cleanPhone(token: string): string | null {
  const compact = stripTrailingPunctuation(token).replace(/[\s().-]/g, '');
  return /^\+?\d{5,16}$/.test(compact) ? compact : null;
}

function looksLikePhone(token: string): boolean {
  return cleanPhone(token) !== null;
}

// ------------------------------------------------------------------------------------------------
// Questions

function transferPhrase(known: TransferKnown): string {
  return known.amountMinor !== null && known.currency !== null ? `the ${formatMoney(known.amountMinor, known.currency)} transfer` : 'the transfer';
}

function mediumNoun(medium: MessageKnown['medium']): string {
  return medium === 'email' ? 'email' : medium === 'sms' ? 'text message' : 'message';
}

function question(draft: Draft, slot: Slot): string {
  switch (draft.actionType) {
    case 'transfer': {
      const k = draft.known;
      if (slot === 'amount') return k.payee !== null ? `How much should I transfer to ${k.payee}?` : 'How much should I transfer, and to whom?';
      if (slot === 'payee') return `Who should receive ${transferPhrase(k)}?`;
      return `What note should go with ${transferPhrase(k)}?`;
    }
    case 'message_send': {
      const k = draft.known;
      const noun = mediumNoun(k.medium);
      if (slot === 'recipient') {
        if (k.medium === 'email') return 'What email address should I send it to?';
        if (k.medium === 'sms') return 'What number should I text? Please include the country code, e.g. +15551234567.';
        return 'Who should I send the message to?';
      }
      if (slot === 'subject') return `What should the subject of the ${noun} be?`;
      return k.recipient !== null ? `What should the ${noun} to ${k.recipient} say?` : `What should the ${noun} say?`;
    }
    case 'command_run': {
      const k = draft.known;
      if (slot === 'host') return k.command !== null ? `Which host should I run \`${truncateForQuote(k.command)}\` on?` : 'Which host should I run it on?';
      return k.host !== null ? `What command should I run on ${k.host}?` : 'What command should I run, and on which host?';
    }
  }
}

function clarify(draft: Draft, slot: Slot, problem: string | null): ExtractionResult {
  const ask = question(draft, slot);
  const pending: PendingClarification = { actionType: draft.actionType, missing: slot, known: { ...draft.known } };
  return { kind: 'clarify', question: problem ? `${problem} ${ask}` : ask, pending, extractor: RULES_EXTRACTOR_NAME };
}

function help(text = HELP_TEXT): ExtractionResult {
  return { kind: 'help', text, extractor: RULES_EXTRACTOR_NAME };
}

// ------------------------------------------------------------------------------------------------
// Completing a draft: ask for the first missing field, or validate and return the action.

const SLOT_OF_PATH: Readonly<Record<string, Slot>> = {
  '/amountMinor': 'amount', '/currency': 'amount', '/payee': 'payee', '/memo': 'memo',
  '/recipient': 'recipient', '/subject': 'subject', '/body': 'body', '/host': 'host', '/command': 'command',
};

function describeSchemaProblem(slot: Slot, message: string): string {
  const name: Record<Slot, string> = {
    amount: 'amount', payee: 'payee', memo: 'note', recipient: 'recipient', subject: 'subject', body: 'message',
    host: 'host name', command: 'command',
  };
  const tooLong = /must NOT have more than (\d+) characters/.exec(message);
  if (tooLong) return `That ${name[slot]} is too long (${tooLong[1]} characters at most).`;
  if (/format "email"/.test(message)) return 'That is not an email address I can use.';
  if (slot === 'host') return 'That is not a host name I can use.';
  if (slot === 'recipient') return 'That is not a recipient I can use.';
  return `I can't use that ${name[slot]}.`;
}

function finish(draft: Draft, confidence: number, problem: Problem | null): ExtractionResult {
  let action: Action;
  switch (draft.actionType) {
    case 'transfer': {
      const k = draft.known;
      if (k.amountMinor === null || k.currency === null) return clarify(draft, 'amount', problem?.slot === 'amount' ? problem.text : null);
      if (k.payee === null) return clarify(draft, 'payee', problem?.slot === 'payee' ? problem.text : null);
      action = { type: 'transfer', amountMinor: k.amountMinor, currency: k.currency, payee: k.payee, memo: k.memo };
      break;
    }
    case 'message_send': {
      const k = draft.known;
      if (k.recipient === null) return clarify(draft, 'recipient', problem?.slot === 'recipient' ? problem.text : null);
      if (k.body === null) return clarify(draft, 'body', problem?.slot === 'body' ? problem.text : null);
      action = { type: 'message_send', medium: k.medium, recipient: k.recipient, subject: k.subject, body: k.body };
      break;
    }
    case 'command_run': {
      const k = draft.known;
      if (k.command === null) return clarify(draft, 'command', problem?.slot === 'command' ? problem.text : null);
      if (k.host === null) return clarify(draft, 'host', problem?.slot === 'host' ? problem.text : null);
      action = { type: 'command_run', host: k.host, command: k.command };
      break;
    }
  }
  if (!validateActionSchema(action)) {
    const first = fieldProblems(validateActionSchema.errors)[0];
    const slot = (first && SLOT_OF_PATH[first.path]) ?? null;
    if (slot === null) return help();
    // Forget the unusable value and ask for it again, saying why.
    const known: Record<string, unknown> = { ...draft.known };
    const field = slot === 'amount' ? 'amountMinor' : slot;
    known[field] = null;
    return clarify({ ...draft, known } as Draft, slot, describeSchemaProblem(slot, first!.message));
  }
  return { kind: 'action', action, confidence, extractor: RULES_EXTRACTOR_NAME };
}

// ------------------------------------------------------------------------------------------------
// Transfers

interface AmountReading { amountMinor: number | null; currency: string | null; defaulted: boolean; problem: string | null }

function readAmount(text: string, defaultCurrency: string): { match: ReturnType<typeof findMoney>; reading: AmountReading } {
  const match = findMoney(text);
  if (match === null) {
    const problem = hasDecimalComma(text) ? 'Please write amounts with a decimal point, like 12.50.' : null;
    return { match, reading: { amountMinor: null, currency: null, defaulted: false, problem } };
  }
  const currency = match.currency ?? defaultCurrency;
  const minor = toMinorUnits(match.number, match.multiplier, currency);
  if (!minor.ok) {
    return { match, reading: { amountMinor: null, currency: null, defaulted: false, problem: `I can't use that amount: ${minor.problem}.` } };
  }
  return { match, reading: { amountMinor: minor.amountMinor, currency, defaulted: match.currency === null, problem: null } };
}

const MEMO_WORDS = String.raw`(?:for|memo|re|ref|reference|note|with note)`;
const TO_THEN_MEMO = new RegExp(String.raw`^to\s+(.+?)(?:\s+${MEMO_WORDS}\s*:?\s+(.+))?$`, 'i');
const MEMO_THEN_TO = new RegExp(String.raw`^${MEMO_WORDS}\s*:?\s+(.+?)\s+to\s+(.+)$`, 'i');
const MEMO_ONLY = new RegExp(String.raw`^${MEMO_WORDS}\s*:?\s+(.+)$`, 'i');
const MONEY_WORDS = /^(?:(?:some|the|my|our)\s+)?(?:money|funds|cash|payment|a payment|the payment)\b\s*/i;

function cleanName(text: string | undefined): string | null {
  if (text === undefined) return null;
  const cleaned = unquote(stripTrailingPunctuation(text)).replace(/^@/, '');
  return cleaned === '' ? null : cleaned;
}

function payeeAndMemo(text: string): { payee: string | null; memo: string | null; leftover: string } {
  const t = text.trim();
  if (t === '') return { payee: null, memo: null, leftover: '' };
  let m = TO_THEN_MEMO.exec(t);
  if (m) return { payee: cleanName(m[1]), memo: cleanName(m[2]), leftover: '' };
  m = MEMO_THEN_TO.exec(t);
  if (m) return { payee: cleanName(m[2]), memo: cleanName(m[1]), leftover: '' };
  m = MEMO_ONLY.exec(t);
  if (m) return { payee: null, memo: cleanName(m[1]), leftover: '' };
  return { payee: null, memo: null, leftover: t };
}

function parseTransfer(rest: string, defaultCurrency: string): ExtractionResult {
  const text = stripTrailingPunctuation(rest);
  const { match, reading } = readAmount(text, defaultCurrency);
  let payee: string | null;
  let memo: string | null;
  let confidence: number = CONFIDENCE.explicit;
  if (match !== null) {
    const before = text.slice(0, match.index).trim().replace(/^(?:of|an amount of)$/i, '');
    const after = text.slice(match.index + match.length).trim();
    if (before === '') {
      const parts = payeeAndMemo(after);
      payee = parts.payee;
      memo = parts.memo;
      if (parts.leftover !== '') {
        // "transfer $500 alice": no "to", but nothing else it could be.
        if (/\d/.test(parts.leftover)) return help('I could not tell who should receive the money. Try “transfer $50 to Alice”.');
        payee = cleanName(parts.leftover);
        confidence = CONFIDENCE.loose;
      }
    } else {
      // "pay alice 12.50 [for lunch]"
      payee = cleanName(before.replace(/^to\s+/i, ''));
      const parts = payeeAndMemo(after);
      if (parts.payee !== null || parts.leftover !== '') return help('I could not tell who should receive the money. Try “transfer $50 to Alice”.');
      memo = parts.memo;
      confidence = CONFIDENCE.reordered;
    }
  } else {
    const withoutMoneyWords = text.replace(MONEY_WORDS, '');
    // Keep what follows " to " even when the amount before it was unreadable ("€12,50 to bob").
    const toClause = /(?:^|\s)(to\s+.+)$/i.exec(withoutMoneyWords);
    const parts = payeeAndMemo(toClause && /\d/.test(withoutMoneyWords.slice(0, toClause.index)) ? toClause[1]! : withoutMoneyWords);
    payee = parts.payee ?? (parts.leftover !== '' && !/\d/.test(parts.leftover) ? cleanName(parts.leftover) : null);
    memo = parts.memo;
  }
  if (reading.defaulted) confidence = Math.min(confidence, CONFIDENCE.defaulted);
  const draft: Draft = { actionType: 'transfer', known: { amountMinor: reading.amountMinor, currency: reading.currency, payee, memo } };
  return finish(draft, confidence, reading.problem ? { slot: 'amount', text: reading.problem } : null);
}

// ------------------------------------------------------------------------------------------------
// Messages

const BODY_SEPARATOR = /\s*(?::\s|\bsaying\b|\bthat says\b|\bwhich says\b|\bwith the message\b|\bwith message\b|\btelling (?:them|him|her)\b| - )\s*/i;
const SUBJECT_CLAUSE = /\s+(?:about|re|regarding|with (?:the )?subject)\s*:?\s+(.+)$/i;

function readRecipient(medium: MessageKnown['medium'], raw: string): { recipient: string | null; problem: string | null } {
  const token = unquote(stripTrailingPunctuation(raw.replace(/^to\s+/i, '')));
  if (token === '') return { recipient: null, problem: null };
  if (medium === 'email') {
    const email = cleanEmail(token);
    if (EMAIL.test(email)) return { recipient: email, problem: null };
    return { recipient: null, problem: `I need an email address for ${truncateForQuote(token, 40)}.` };
  }
  if (medium === 'sms') {
    const phone = cleanPhone(token);
    if (phone !== null && /^\+[1-9]\d{6,14}$/.test(phone)) return { recipient: phone, problem: null };
    if (phone !== null) return { recipient: null, problem: 'I need the number in international format.' };
    return { recipient: null, problem: `I need a phone number for ${truncateForQuote(token, 40)}.` };
  }
  return { recipient: token.replace(/^@/, ''), problem: null };
}

/** Splits "<recipient> [about <subject>]" into its parts. */
function recipientAndSubject(text: string): { target: string; subject: string | null } {
  const m = SUBJECT_CLAUSE.exec(text);
  if (!m) return { target: text.trim(), subject: null };
  return { target: text.slice(0, m.index).trim(), subject: cleanName(m[1]) };
}

function isSingleRecipientToken(text: string): boolean {
  const t = text.trim().replace(/^to\s+/i, '');
  return EMAIL.test(cleanEmail(t)) || looksLikePhone(t) || /^@?[\p{L}\p{N}._-]{1,64}$/u.test(t);
}

function parseMessage(medium: MessageKnown['medium'], rest: string): ExtractionResult {
  const text = rest.trim();
  let target: string | null;
  let body: string | null = null;
  let subject: string | null = null;
  let confidence: number = CONFIDENCE.explicit;

  const sep = BODY_SEPARATOR.exec(text);
  if (sep && sep.index > 0) {
    // "text +15551234567 saying hi", "email bob@example.com about launch: we ship friday"
    const left = recipientAndSubject(text.slice(0, sep.index));
    target = left.target;
    subject = left.subject;
    body = unquote(text.slice(sep.index + sep[0].length)) || null;
  } else {
    const to = /^(.+)\s+to\s+(\S+(?:\s\S+){0,3})$/i.exec(text);
    if (to && isSingleRecipientToken(to[2]!)) {
      // "email the report to bob@example.com"
      body = unquote(to[1]!) || null;
      target = to[2]!;
    } else if (isSingleRecipientToken(recipientAndSubject(text).target) || text === '') {
      // "email bob@example.com [about the launch]": the body is still missing.
      const left = recipientAndSubject(text);
      target = left.target === '' ? null : left.target;
      subject = left.subject;
    } else {
      // "text +15551234567 running late": recipient first, then the words.
      const first = /^(?:to\s+)?(\+?[\d\s().-]{5,20}\d|\S+@\S+|@?\S+)\s+(.+)$/.exec(text);
      if (!first) return help();
      target = first[1]!;
      body = unquote(first[2]!) || null;
      confidence = CONFIDENCE.loose;
    }
  }
  const { recipient, problem } = target === null ? { recipient: null, problem: null } : readRecipient(medium, target);
  if (medium === 'sms') subject = null;
  const draft: Draft = { actionType: 'message_send', known: { medium, recipient, subject, body } };
  return finish(draft, confidence, problem ? { slot: 'recipient', text: problem } : null);
}

/** "send the report to bob@example.com": the medium follows from the address. */
function parseSendWithoutAmount(rest: string): ExtractionResult {
  const noun = /^(?:an?\s+|the\s+)?(e-?mail|mail|text(?: message)?|sms|message|dm|chat message)\b\s*(.*)$/i.exec(rest);
  if (noun) {
    const kind = noun[1]!.toLowerCase();
    const medium: MessageKnown['medium'] = /mail/.test(kind) ? 'email' : /text|sms/.test(kind) ? 'sms' : 'chat';
    return parseMessage(medium, noun[2]!);
  }
  const to = /^(.+)\s+to\s+(\S+)$/i.exec(stripTrailingPunctuation(rest));
  if (to) {
    const target = to[2]!;
    if (EMAIL.test(cleanEmail(target))) return parseMessage('email', rest);
    if (looksLikePhone(target)) return parseMessage('sms', rest);
    return help(`Do you want to send money or a message to ${truncateForQuote(target, 40)}? Try “send $20 to ${truncateForQuote(target, 40)}” or “message ${truncateForQuote(target, 40)} saying hi”.`);
  }
  if (MONEY_WORDS.test(rest)) return parseTransfer(rest, 'USD');
  return help();
}

// ------------------------------------------------------------------------------------------------
// Commands

const HOST_WORDS = /^(?:the\s+)?(?:host|server|machine|box|node)\s+/i;

function readHost(raw: string): { host: string | null; problem: string | null } {
  const token = unquote(stripTrailingPunctuation(raw.trim().replace(HOST_WORDS, '')));
  if (token === '') return { host: null, problem: null };
  if (HOST.test(token) && token.length <= 253) return { host: token, problem: null };
  return { host: null, problem: `“${truncateForQuote(token, 40)}” is not a host name I can use.` };
}

function parseCommand(rest: string): ExtractionResult {
  const text = rest.trim();
  let command: string | null;
  let hostText: string | null = null;
  const quoted = /`([^`]+)`|"([^"]+)"|'([^']+)'/.exec(text);
  if (quoted) {
    command = (quoted[1] ?? quoted[2] ?? quoted[3] ?? '').trim() || null;
    const remainder = (text.slice(0, quoted.index) + ' ' + text.slice(quoted.index + quoted[0].length)).trim();
    const on = /^(?:on|at)\s+(.+)$/i.exec(remainder);
    if (on) hostText = on[1]!;
    else if (remainder !== '') return help(`I can run \`${truncateForQuote(command ?? '')}\`, but where? Try “run \`${truncateForQuote(command ?? '')}\` on build-01”.`);
  } else {
    // The last " on " separates the command from the host: "run df -h on build-01".
    const on = /^(?:(.*)\s)?on\s+(.+)$/i.exec(stripTrailingPunctuation(text));
    if (on) {
      command = on[1]?.trim() || null;
      hostText = on[2]!;
    } else {
      command = stripTrailingPunctuation(text) || null;
    }
  }
  const { host, problem } = hostText === null ? { host: null, problem: null } : readHost(hostText);
  const draft: Draft = { actionType: 'command_run', known: { host, command } };
  return finish(draft, CONFIDENCE.explicit, problem ? { slot: 'host', text: problem } : null);
}

// ------------------------------------------------------------------------------------------------
// Dispatch

const GREETING = /^(?:\/?(?:start|help)(?:@\S+)?|hi|hello|hey|yo|help(?: me)?|what can you do|who are you|menu|commands)[.!?]*$/i;
const CANCEL = /^(?:cancel|never ?mind|forget (?:it|that)|stop|no|nope|abort)[.!]*$/i;

function parseFresh(core: string, defaultCurrency: string): ExtractionResult | null {
  const text = stripPoliteness(core);
  if (text === '' || GREETING.test(text)) return help();

  // "on build-01 run uptime"
  const onFirst = /^on\s+(\S+?),?\s+(?:run|execute|exec)\s+(.+)$/i.exec(text);
  if (onFirst) return parseCommand(`${onFirst[2]} on ${onFirst[1]}`);

  const m = /^(\S+)\s*(.*)$/.exec(text);
  if (!m) return null;
  const verb = m[1]!.toLowerCase().replace(/[,:]$/, '');
  const rest = m[2]!;
  switch (verb) {
    case 'transfer': case 'pay': case 'wire': case 'remit': case 'move':
      return parseTransfer(rest, defaultCurrency);
    case 'send': {
      const moneyLike = readAmount(stripTrailingPunctuation(rest), defaultCurrency).match !== null || hasDecimalComma(rest) || /[$€£¥₹₩]/.test(rest);
      if (moneyLike && !/^(?:an?\s+|the\s+)?(?:e-?mail|mail|text|sms|message|dm)\b/i.test(rest)) {
        return parseTransfer(rest, defaultCurrency);
      }
      return parseSendWithoutAmount(rest);
    }
    case 'email': case 'e-mail': case 'mail':
      return parseMessage('email', rest);
    case 'text': case 'sms':
      return parseMessage('sms', rest);
    case 'message': case 'msg': case 'dm': case 'tell':
      return parseMessage('chat', rest);
    case 'run': case 'execute': case 'exec':
      return parseCommand(rest);
    default:
      return null;
  }
}

function isTransferKnown(known: PendingClarification['known']): TransferKnown {
  return {
    amountMinor: typeof known.amountMinor === 'number' ? known.amountMinor : null,
    currency: typeof known.currency === 'string' && isKnownCurrency(known.currency) ? known.currency : null,
    payee: typeof known.payee === 'string' ? known.payee : null,
    memo: typeof known.memo === 'string' ? known.memo : null,
  };
}

function draftFromPending(pending: PendingClarification): Draft | null {
  const k = pending.known;
  const str = (v: unknown) => (typeof v === 'string' ? v : null);
  switch (pending.actionType) {
    case 'transfer':
      return { actionType: 'transfer', known: isTransferKnown(k) };
    case 'message_send': {
      const medium = k.medium === 'email' || k.medium === 'sms' || k.medium === 'chat' ? k.medium : null;
      if (medium === null) return null;
      return { actionType: 'message_send', known: { medium, recipient: str(k.recipient), subject: str(k.subject), body: str(k.body) } };
    }
    case 'command_run':
      return { actionType: 'command_run', known: { host: str(k.host), command: str(k.command) } };
    default:
      return null;
  }
}

/** Puts the user's answer into the slot the question asked for. */
function fillSlot(draft: Draft, slot: Slot, text: string, defaultCurrency: string): { draft: Draft; problem: Problem | null } {
  const answer = stripTrailingPunctuation(text);
  const problem = (p: string | null): Problem | null => (p === null ? null : { slot, text: p });
  switch (draft.actionType) {
    case 'transfer': {
      const known = { ...draft.known };
      if (slot === 'amount') {
        const { match, reading } = readAmount(answer, defaultCurrency);
        if (match === null) return { draft, problem: problem(reading.problem ?? 'I did not find an amount there.') };
        known.amountMinor = reading.amountMinor;
        known.currency = reading.currency;
        return { draft: { actionType: 'transfer', known }, problem: problem(reading.problem) };
      }
      if (slot === 'payee') known.payee = cleanName(answer.replace(/^to\s+/i, ''));
      if (slot === 'memo') known.memo = cleanName(answer);
      return { draft: { actionType: 'transfer', known }, problem: null };
    }
    case 'message_send': {
      const known = { ...draft.known };
      if (slot === 'recipient') {
        const r = readRecipient(known.medium, answer);
        known.recipient = r.recipient;
        return { draft: { actionType: 'message_send', known }, problem: problem(r.problem) };
      }
      if (slot === 'body') known.body = unquote(text) || null;
      if (slot === 'subject') known.subject = cleanName(answer);
      return { draft: { actionType: 'message_send', known }, problem: null };
    }
    case 'command_run': {
      const known = { ...draft.known };
      if (slot === 'host') {
        const h = readHost(answer.replace(/^(?:on|at)\s+/i, ''));
        known.host = h.host;
        return { draft: { actionType: 'command_run', known }, problem: problem(h.problem) };
      }
      if (slot === 'command') known.command = unquote(answer) || null;
      return { draft: { actionType: 'command_run', known }, problem: null };
    }
  }
}

/** The deterministic parser, as a plain function. */
export function extractWithRules(input: ExtractionInput, options: RuleExtractorOptions = {}): ExtractionResult {
  const defaultCurrency = options.defaultCurrency ?? 'USD';
  if (!isKnownCurrency(defaultCurrency)) throw new RangeError(`unknown default currency ${defaultCurrency}`);
  if (input.text.length > MAX_EXTRACTION_TEXT) {
    return help(`That message is too long for me (${MAX_EXTRACTION_TEXT} characters at most). Please ask for one thing at a time.`);
  }
  const core = normaliseText(input.text);
  const fresh = parseFresh(core, defaultCurrency);
  const pending = input.pending ?? null;
  if (pending === null) return fresh ?? help();

  if (CANCEL.test(core)) return help('OK, I have dropped that request.');
  // A complete new request wins over answering the question.
  if (fresh !== null && fresh.kind === 'action') return fresh;
  const draft = draftFromPending(pending);
  if (draft === null) return fresh ?? help();
  const filled = fillSlot(draft, pending.missing, core, defaultCurrency);
  if (filled.problem !== null && fresh !== null && fresh.kind === 'clarify') return fresh;
  return finish(filled.draft, CONFIDENCE.filled, filled.problem);
}

/** The rule-based IntentExtractor. */
export function createRuleExtractor(options: RuleExtractorOptions = {}): IntentExtractor {
  const defaultCurrency = options.defaultCurrency ?? 'USD';
  if (!isKnownCurrency(defaultCurrency)) throw new RangeError(`unknown default currency ${defaultCurrency}`);
  return {
    name: RULES_EXTRACTOR_NAME,
    extract: (input) => Promise.resolve(extractWithRules(input, { defaultCurrency })),
  };
}
