// Counterfactual policy replay (docs/replay.md §4): what a candidate constitution would have decided
// for recorded intents, each with the context snapshot recorded in its decision. Pure; emits nothing.
import type { Decision, DecisionOutcome, EpochMillis, Intent, RiskTier } from '../domain/types.ts';
import { intentFromDecision, parseSnapshot } from '../policy/context.ts';
import { decide } from '../policy/decide.ts';
import type { CompiledRuleSet } from '../policy/types.ts';
import type { Position } from './analyze.ts';

export interface DecisionSummary { outcome: DecisionOutcome; tier: RiskTier; score: number; firedRules: string[] }

export interface CounterfactualChange {
  intentId: string;
  decisionId: string;
  decidedAt: EpochMillis;
  recordedPolicy: { version: string; digest: string };
  recorded: DecisionSummary;
  candidate: DecisionSummary;
  rulesAdded: string[];
  rulesRemoved: string[];
  at: Position;
}

export interface RuleDiff { ruleId: string; newlyFired: number; noLongerFired: number; examples: string[] }

export interface CounterfactualReport {
  candidate: { version: string; digest: string; source: string };
  intents: number;
  evaluated: number;
  changed: number;
  unchanged: number;
  /** Intents that could not be evaluated, by reason. */
  skipped: Record<string, number>;
  /** "allow -> deny": count, for decisions whose outcome changes. */
  transitions: Record<string, number>;
  byRule: RuleDiff[];
  changes: CounterfactualChange[];
}

const MAX_EXAMPLES = 5;

function summary(d: Decision): DecisionSummary {
  return { outcome: d.outcome, tier: d.risk.tier, score: d.risk.score, firedRules: [...d.firedRules] };
}

/**
 * Feed the range's intents first, then decisions (src/replay/run.ts reads in that order): each
 * decision of an intent in the range is evaluated as it arrives, and only changes are kept.
 */
export class CounterfactualRun {
  private readonly candidate: CompiledRuleSet;
  private readonly intents = new Set<string>();
  private readonly decided = new Set<string>();
  private readonly evaluatedIds = new Set<string>();
  private readonly skipped: Record<string, number> = {};
  private readonly transitions: Record<string, number> = {};
  private readonly rules = new Map<string, RuleDiff>();
  private readonly changes: CounterfactualChange[] = [];

  constructor(candidate: CompiledRuleSet) {
    this.candidate = candidate;
  }

  addIntent(intent: Intent): void {
    this.intents.add(intent.intentId);
  }

  private skip(reason: string): void {
    this.skipped[reason] = (this.skipped[reason] ?? 0) + 1;
  }

  private rule(ruleId: string): RuleDiff {
    let diff = this.rules.get(ruleId);
    if (!diff) this.rules.set(ruleId, (diff = { ruleId, newlyFired: 0, noLongerFired: 0, examples: [] }));
    return diff;
  }

  addDecision(d: Decision, at: Position): void {
    if (!this.intents.has(d.intentId) || this.evaluatedIds.has(d.decisionId)) return;
    this.evaluatedIds.add(d.decisionId);
    this.decided.add(d.intentId);
    let candidate: Decision;
    try {
      const snapshot = parseSnapshot(d.context.snapshotJson);
      candidate = decide(intentFromDecision(d, snapshot), snapshot.context, this.candidate, { now: d.decidedAt, decisionId: d.decisionId });
    } catch (error) {
      this.skip(`context snapshot unusable: ${(error as Error).message}`);
      this.evaluatedIds.delete(d.decisionId);
      return;
    }
    const before = new Set(d.firedRules);
    const after = new Set(candidate.firedRules);
    const rulesAdded = candidate.firedRules.filter((r) => !before.has(r));
    const rulesRemoved = d.firedRules.filter((r) => !after.has(r));
    if (candidate.outcome === d.outcome && candidate.risk.tier === d.risk.tier && rulesAdded.length === 0 && rulesRemoved.length === 0) return;
    if (candidate.outcome !== d.outcome) {
      const key = `${d.outcome} -> ${candidate.outcome}`;
      this.transitions[key] = (this.transitions[key] ?? 0) + 1;
    }
    for (const [ids, field] of [[rulesAdded, 'newlyFired'], [rulesRemoved, 'noLongerFired']] as const) {
      for (const id of ids) {
        const diff = this.rule(id);
        diff[field]++;
        if (diff.examples.length < MAX_EXAMPLES) diff.examples.push(d.decisionId);
      }
    }
    this.changes.push({
      intentId: d.intentId, decisionId: d.decisionId, decidedAt: d.decidedAt, recordedPolicy: { version: d.policyVersion, digest: d.policyDigest },
      recorded: summary(d), candidate: summary(candidate), rulesAdded, rulesRemoved, at,
    });
  }

  finish(): CounterfactualReport {
    const skipped = { ...this.skipped };
    const undecided = [...this.intents].filter((id) => !this.decided.has(id)).length;
    if (undecided > 0) skipped['no recorded decision'] = undecided;
    return {
      candidate: { version: this.candidate.version, digest: this.candidate.digest, source: this.candidate.source },
      intents: this.intents.size,
      evaluated: this.evaluatedIds.size,
      changed: this.changes.length,
      unchanged: this.evaluatedIds.size - this.changes.length,
      skipped,
      transitions: { ...this.transitions },
      byRule: [...this.rules.values()].sort((a, b) => (b.newlyFired + b.noLongerFired) - (a.newlyFired + a.noLongerFired) || (a.ruleId < b.ruleId ? -1 : 1)),
      changes: [...this.changes],
    };
  }
}
