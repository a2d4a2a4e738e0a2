// The decision function: (intent, context, rules, now, decision id) → Decision. Pure and
// deterministic; the consumer, the HTTP API, the tests and the replay tool all call it.
//
// 1. Risk rules (raise_risk / lower_risk) that hold add their points to the base score, clamped to
//    0..100; the tier comes from the bands of the constitution.
// 2. Outcome rules (deny / require_human / allow) are evaluated with the risk known.
//    Deny overrides everything; then require_human; then allow; with none of them the default
//    outcome (deny) applies.
import type { Decision, EpochMillis, HumanApprovalRequirement, Intent, RiskFactor, RiskTier } from '../domain/types.ts';
import { fastActionDigest } from './canonical-fast.ts';
import { deriveFacts, snapshotFor } from './context.ts';
import type { CompiledRule, CompiledRuleSet, EvaluationInput, PolicyContext } from './types.ts';

export interface DecideOptions {
  now: EpochMillis;
  decisionId: string;
}

export function tierOf(score: number, bands: CompiledRuleSet['bands']): RiskTier {
  if (score >= bands.high) return 'high';
  if (score >= bands.medium) return 'medium';
  return 'low';
}

function clampScore(score: number): number {
  return score < 0 ? 0 : score > 100 ? 100 : score;
}

export function decide(intent: Intent, context: PolicyContext, ruleSet: CompiledRuleSet, options: DecideOptions): Decision {
  const { now } = options;
  const rules = ruleSet.byActionType.get(intent.action.type) ?? ruleSet.unknown;
  const input: EvaluationInput = { intent, context, now, derived: deriveFacts(intent, context, now), risk: { score: 0, tier: 'low' } };

  const factors: RiskFactor[] = ruleSet.baseScore === 0 ? [] : [{ code: 'base', weight: ruleSet.baseScore, detail: 'base score of the constitution' }];
  const firedRisk: CompiledRule[] = [];
  let sum = ruleSet.baseScore;
  for (const rule of rules.risk) {
    if (!rule.test(input)) continue;
    firedRisk.push(rule);
    sum += rule.weight;
    factors.push({ code: rule.factor!, weight: rule.weight, detail: rule.render(input) });
  }
  const score = clampScore(sum);
  const tier = tierOf(score, ruleSet.bands);
  input.risk = { score, tier };

  const denies: CompiledRule[] = [];
  const humans: CompiledRule[] = [];
  const allows: CompiledRule[] = [];
  const firedOutcome: CompiledRule[] = [];
  for (const rule of rules.outcome) {
    if (!rule.test(input)) continue;
    firedOutcome.push(rule);
    if (rule.effect === 'deny') denies.push(rule);
    else if (rule.effect === 'require_human') humans.push(rule);
    else allows.push(rule);
  }

  let outcome: Decision['outcome'];
  let reason: string;
  let humanApproval: HumanApprovalRequirement | null = null;
  if (denies.length > 0) {
    outcome = 'deny';
    reason = `Denied: ${joinReasons(denies, input)}`;
  } else if (humans.length > 0) {
    outcome = 'require_human';
    reason = `Needs human approval: ${joinReasons(humans, input)}`;
    humanApproval = combineApprovals(humans, tier, now);
  } else if (allows.length > 0) {
    outcome = 'allow';
    reason = `Allowed: ${joinReasons(allows, input)}`;
  } else {
    outcome = 'deny';
    reason = `Denied: ${ruleSet.defaultReason}`;
  }

  return {
    decisionId: options.decisionId,
    intentId: intent.intentId,
    conversation: intent.conversation,
    requester: intent.requester,
    action: intent.action,
    actionDigest: fastActionDigest(intent.action),
    outcome,
    risk: { tier, score, factors },
    firedRules: firedRuleIds(firedRisk, firedOutcome),
    reason,
    policyVersion: ruleSet.version,
    policyDigest: ruleSet.digest,
    context: snapshotFor(intent, context),
    humanApproval,
    decidedAt: now,
  };
}

function joinReasons(rules: readonly CompiledRule[], input: EvaluationInput): string {
  if (rules.length === 1) return rules[0]!.render(input);
  return rules.map((rule) => rule.render(input)).join('; ');
}

/**
 * Several require_human rules: the one asking for the most approvals (first in the file on a tie)
 * names the approvers; the earliest deadline wins; the requester may approve only if every rule
 * allows it, and never at high risk.
 */
function combineApprovals(rules: readonly CompiledRule[], tier: RiskTier, now: EpochMillis): HumanApprovalRequirement {
  let governing = rules[0]!.approval!;
  let withinMs = governing.withinMs;
  let requesterMayApprove = tier !== 'high';
  for (const rule of rules) {
    const approval = rule.approval!;
    if (approval.requiredApprovals > governing.requiredApprovals) governing = approval;
    if (approval.withinMs < withinMs) withinMs = approval.withinMs;
    if (!approval.requesterMayApprove) requesterMayApprove = false;
  }
  return {
    approvers: [...governing.approvers],
    requiredApprovals: governing.requiredApprovals,
    deadline: now + withinMs,
    requesterMayApprove,
  };
}

function firedRuleIds(risk: readonly CompiledRule[], outcome: readonly CompiledRule[]): string[] {
  if (risk.length === 0) return outcome.map((r) => r.id);
  if (outcome.length === 0) return risk.map((r) => r.id);
  return [...risk, ...outcome].sort((a, b) => a.index - b.index).map((r) => r.id);
}
