import type { ErrorCodeSpec } from './spec.ts';

/** Codes of the policy consumer ("Aureus OS"). */
export const POLICY_CODES = {
  SNT_POLICY_RULES_INVALID: { status: 500, retriable: false, summary: 'The constitution file fails its JSON Schema; the message names the rule and field.' },
  SNT_POLICY_UNKNOWN_ACTION: { status: 422, retriable: false, summary: 'The action type is not one the constitution knows; the decision is deny.' },
} as const satisfies Record<string, ErrorCodeSpec>;
