// The closed vocabulary of fields a rule may read. Each field has a type (checked against the
// operators and operands at compile time), the action types it exists for, and a getter. A rule
// that names a field not listed here fails to load: a typo must never turn a deny rule into a no-op.
import type { ActionType } from '../domain/types.ts';
import type { DerivedFacts, EvaluationInput, Phase } from './types.ts';

export type FieldType = 'string' | 'number' | 'boolean';

export interface FieldSpec {
  type: FieldType;
  /** Action types for which the field has a value; undefined = every action. */
  actionTypes?: readonly ActionType[];
  /** `risk.*` only exists once the score is known, i.e. for outcome rules. */
  phase?: Phase;
  description: string;
  get: (input: EvaluationInput) => unknown;
}

function actionField(name: string): (input: EvaluationInput) => unknown {
  return (input) => (input.intent.action as unknown as Record<string, unknown>)[name];
}

const TRANSFER: readonly ActionType[] = ['transfer'];
const MESSAGE: readonly ActionType[] = ['message_send'];
const COMMAND: readonly ActionType[] = ['command_run'];
const TOOL: readonly ActionType[] = ['tool_call'];
const WITH_COUNTERPARTY: readonly ActionType[] = ['transfer', 'message_send'];

function derived<K extends keyof DerivedFacts>(key: K): (input: EvaluationInput) => unknown {
  return (input) => input.derived[key];
}

export const FIELDS: Readonly<Record<string, FieldSpec>> = {
  'action.type': { type: 'string', description: 'transfer | message_send | command_run | tool_call (or anything else)', get: (i) => i.intent.action.type },
  'action.amountMinor': { type: 'number', actionTypes: TRANSFER, description: 'amount in minor units (cents)', get: actionField('amountMinor') },
  'action.currency': { type: 'string', actionTypes: TRANSFER, description: 'ISO 4217 code', get: actionField('currency') },
  'action.payee': { type: 'string', actionTypes: TRANSFER, description: 'payee as given', get: actionField('payee') },
  'action.memo': { type: 'string', actionTypes: TRANSFER, description: 'memo (absent when null)', get: actionField('memo') },
  'action.medium': { type: 'string', actionTypes: MESSAGE, description: 'email | sms | chat', get: actionField('medium') },
  'action.recipient': { type: 'string', actionTypes: MESSAGE, description: 'recipient address', get: actionField('recipient') },
  'action.subject': { type: 'string', actionTypes: MESSAGE, description: 'subject (absent when null)', get: actionField('subject') },
  'action.body': { type: 'string', actionTypes: MESSAGE, description: 'message body', get: actionField('body') },
  'action.host': { type: 'string', actionTypes: COMMAND, description: 'target host', get: actionField('host') },
  'action.command': { type: 'string', actionTypes: COMMAND, description: 'full command line', get: actionField('command') },
  'action.tool': { type: 'string', actionTypes: TOOL, description: 'tool name', get: actionField('tool') },
  'action.argumentsJson': { type: 'string', actionTypes: TOOL, description: 'canonical JSON of the arguments', get: actionField('argumentsJson') },

  'intent.source': { type: 'string', description: 'chat | agent', get: (i) => i.intent.source },
  'intent.channel': { type: 'string', description: 'channel of the requester', get: (i) => i.intent.requester.channel },
  'intent.userId': { type: 'string', description: 'canonical user id of the requester', get: (i) => i.intent.requester.userId },
  'intent.extractor': { type: 'string', description: 'name of the intent extractor', get: (i) => i.intent.extraction.extractor },
  'intent.confidence': { type: 'number', description: 'extraction confidence 0..1', get: (i) => i.intent.extraction.confidence },

  'context.transferredTodayMinor': { type: 'number', actionTypes: TRANSFER, description: 'already transferred today in this currency (before this action)', get: (i) => i.context.transferredTodayMinor },
  'context.transfersToday': { type: 'number', actionTypes: TRANSFER, description: 'transfers counted today in this currency', get: (i) => i.context.transfersToday },
  'context.actionsLast10Min': { type: 'number', description: 'decisions recorded for the user in the last 10 minutes', get: (i) => i.context.actionsLast10Min },
  'context.actionsLastHour': { type: 'number', description: 'decisions recorded for the user in the last hour', get: (i) => i.context.actionsLastHour },
  'context.denialsLast24h': { type: 'number', description: 'deny decisions for the user in the last 24 hours', get: (i) => i.context.denialsLast24h },
  'context.counterpartyKnown': { type: 'boolean', actionTypes: WITH_COUNTERPARTY, description: 'payee/recipient used before', get: derived('counterpartyKnown') },
  'context.counterpartyAgeMinutes': { type: 'number', actionTypes: WITH_COUNTERPARTY, description: 'minutes since the payee/recipient was first used (0 when new)', get: derived('counterpartyAgeMinutes') },
  'context.userDecisionsTotal': { type: 'number', description: 'decisions recorded for the user, ever', get: (i) => i.context.userDecisionsTotal },
  'context.userAgeDays': { type: 'number', description: 'whole days since the user\'s first recorded decision (0 when none)', get: derived('userAgeDays') },
  'context.nearestDeniedSimilarity': { type: 'number', description: 'similarity 0..1 of the closest past denied intent of the user', get: (i) => i.context.nearestDeniedSimilarity },

  'derived.projectedTodayMinor': { type: 'number', actionTypes: TRANSFER, description: 'transferred today plus this amount', get: derived('projectedTodayMinor') },
  'derived.amountDisplay': { type: 'string', actionTypes: TRANSFER, description: 'amount in major units with currency, e.g. "1500.00 USD"', get: derived('amountDisplay') },
  'derived.projectedTodayDisplay': { type: 'string', actionTypes: TRANSFER, description: 'projected day total in major units with currency', get: derived('projectedTodayDisplay') },
  'derived.recipientDomain': { type: 'string', actionTypes: MESSAGE, description: 'lower-case domain of an e-mail recipient ("" otherwise)', get: derived('recipientDomain') },
  'derived.commandName': { type: 'string', actionTypes: COMMAND, description: 'base name of the first word of the command', get: derived('commandName') },
  'derived.commandHasShellOperators': { type: 'boolean', actionTypes: COMMAND, description: 'the command contains ; & | ` $ < > ( ) { } \\ or a newline', get: derived('commandHasShellOperators') },

  'risk.score': { type: 'number', phase: 'outcome', description: 'score 0..100 after the risk rules', get: (i) => i.risk.score },
  'risk.tier': { type: 'string', phase: 'outcome', description: 'low | medium | high', get: (i) => i.risk.tier },
};

export function fieldSpec(path: string): FieldSpec | undefined {
  return Object.hasOwn(FIELDS, path) ? FIELDS[path] : undefined;
}
