// Types of the policy engine: the constitution as written (RuleSetDocument), as compiled
// (CompiledRuleSet), and the context a decision reads (PolicyContext).
import type { EpochMillis, Intent, RiskTier } from '../domain/types.ts';

// ---------------------------------------------------------------------------------------------
// The constitution file, as parsed from YAML and validated by schemas/json/constitution.schema.json.

export type Scalar = string | number | boolean;

/** A reference to a named list of the constitution, usable wherever `in` takes an array. */
export interface ListRef { list: string }

export interface ComparisonCondition {
  field: string;
  eq?: Scalar;
  ne?: Scalar;
  gt?: number;
  gte?: number;
  lt?: number;
  lte?: number;
  in?: Scalar[] | ListRef;
  matches?: string;
  ignoreCase?: boolean;
  exists?: boolean;
}

export type ConditionNode =
  | { all: ConditionNode[] }
  | { any: ConditionNode[] }
  | { not: ConditionNode }
  | { always: true }
  | ComparisonCondition;

export interface ApprovalSpec {
  /** Canonical user ids or "role:<name>". */
  approvers: string[];
  requiredApprovals: number;
  /** How long approvers have, e.g. "30m", "2h", "1d". */
  within: string;
  /** Ignored (false) whenever the decision's risk tier is high. */
  requesterMayApprove: boolean;
}

export type RuleEffect = 'deny' | 'require_human' | 'allow' | 'raise_risk' | 'lower_risk';
export const RULE_EFFECTS: readonly RuleEffect[] = ['deny', 'require_human', 'allow', 'raise_risk', 'lower_risk'];

export interface RuleDocument {
  id: string;
  description: string;
  /** Action types the rule applies to; absent means every action type, including unknown ones. */
  appliesTo?: string[];
  when: ConditionNode;
  effect: RuleEffect;
  /** raise_risk / lower_risk: points added to or taken from the score (positive). */
  points?: number;
  /** raise_risk / lower_risk: the stable factor code reported in the decision. */
  factor?: string;
  /** require_human: a named approval profile or an inline one. */
  approval?: string | ApprovalSpec;
  /** Human-readable text with {field} placeholders; defaults to the description. */
  reason?: string;
}

export interface RuleSetDocument {
  version: string;
  description?: string;
  risk: { base: number; bands: { medium: number; high: number } };
  defaults: { outcome: 'deny'; reason: string };
  lists?: Record<string, Scalar[]>;
  approvals?: Record<string, ApprovalSpec>;
  rules: RuleDocument[];
}

// ---------------------------------------------------------------------------------------------
// Compiled form: everything parsed, resolved and checked once, at load.

export type Phase = 'risk' | 'outcome';

export interface CompiledApproval {
  approvers: readonly string[];
  requiredApprovals: number;
  withinMs: number;
  requesterMayApprove: boolean;
}

export type Predicate = (input: EvaluationInput) => boolean;
export type Renderer = (input: EvaluationInput) => string;

export interface CompiledRule {
  id: string;
  /** Position in the file; decisions list fired rules in this order. */
  index: number;
  phase: Phase;
  effect: RuleEffect;
  test: Predicate;
  /** Signed contribution to the score (risk rules), 0 otherwise. */
  weight: number;
  factor: string | null;
  approval: CompiledApproval | null;
  render: Renderer;
}

export interface RulesForActionType {
  risk: readonly CompiledRule[];
  outcome: readonly CompiledRule[];
}

export interface CompiledRuleSet {
  version: string;
  /** "sha256:<hex>" of the canonical parsed document. */
  digest: string;
  /** Where it was loaded from, for messages. */
  source: string;
  baseScore: number;
  bands: { medium: number; high: number };
  defaultReason: string;
  rules: readonly CompiledRule[];
  /** Rules by action type, in file order; `unknown` serves every type the file does not name. */
  byActionType: ReadonlyMap<string, RulesForActionType>;
  unknown: RulesForActionType;
  /** The validated document the digest covers. */
  document: RuleSetDocument;
}

// ---------------------------------------------------------------------------------------------
// Context: the values from memory a decision reads. Plain data, canonicalisable, snapshotted into
// every decision so replay can re-evaluate without the stores.

export interface PolicyContext {
  /** Transfers already counted today (UTC day of the decision) in the action's currency, minor units. */
  transferredTodayMinor: number;
  transfersToday: number;
  actionsLast10Min: number;
  actionsLastHour: number;
  denialsLast24h: number;
  /** When the user first used this payee (transfer) or recipient (message_send); null = never. */
  counterpartyFirstSeenAt: EpochMillis | null;
  /** When the user's first decision was recorded; null = no history. */
  userFirstSeenAt: EpochMillis | null;
  userDecisionsTotal: number;
  /** Cosine similarity (0..1, 4 decimals) of the nearest past denied intent of this user; 0 when none. */
  nearestDeniedSimilarity: number;
  nearestDeniedIntentId: string | null;
}

/** What a condition reads: the intent, its context, values derived from both, and (outcome phase) the risk. */
export interface EvaluationInput {
  intent: Intent;
  context: PolicyContext;
  now: EpochMillis;
  derived: DerivedFacts;
  risk: { score: number; tier: RiskTier };
}

export interface DerivedFacts {
  counterpartyKnown: boolean;
  counterpartyAgeMinutes: number;
  userAgeDays: number;
  projectedTodayMinor: number;
  amountDisplay: string;
  projectedTodayDisplay: string;
  recipientDomain: string;
  commandName: string;
  commandHasShellOperators: boolean;
}
