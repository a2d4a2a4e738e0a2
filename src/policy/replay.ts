// Re-evaluating a recorded decision from its own context snapshot, for audit and the replay tool.
import { canonicalize } from '../canonical/jcs.ts';
import { sha256Tagged } from '../canonical/digest.ts';
import type { Decision } from '../domain/types.ts';
import { intentFromDecision, parseSnapshot } from './context.ts';
import { decide } from './decide.ts';
import type { CompiledRuleSet } from './types.ts';

export interface ReplayResult {
  decisionId: string;
  matches: boolean;
  /** One line per difference, e.g. "outcome: recorded allow, replayed deny". Empty when it matches. */
  differences: string[];
  replayed: Decision | null;
}

/**
 * Decides again with `ruleSet` (which should be the version the decision names) and the decision's
 * own context snapshot, and reports every field that comes out different.
 */
export function replayDecision(recorded: Decision, ruleSet: CompiledRuleSet): ReplayResult {
  const differences: string[] = [];
  if (sha256Tagged(recorded.context.snapshotJson) !== recorded.context.digest) {
    differences.push('context.digest: does not match the SHA-256 of context.snapshotJson');
  }
  if (recorded.policyDigest !== ruleSet.digest) {
    differences.push(`policyDigest: recorded ${recorded.policyDigest} (version ${recorded.policyVersion}), replayed with ${ruleSet.digest} (version ${ruleSet.version})`);
  }
  let replayed: Decision;
  try {
    const snapshot = parseSnapshot(recorded.context.snapshotJson);
    replayed = decide(intentFromDecision(recorded, snapshot), snapshot.context, ruleSet, {
      now: recorded.decidedAt,
      decisionId: recorded.decisionId,
    });
  } catch (error) {
    differences.push(`context.snapshotJson: cannot be replayed: ${(error as Error).message}`);
    return { decisionId: recorded.decisionId, matches: false, differences, replayed: null };
  }
  const keys = Object.keys(replayed) as Array<keyof Decision>;
  for (const key of keys) {
    if (key === 'policyDigest') continue;
    const before = canonicalize(recorded[key] ?? null);
    const after = canonicalize(replayed[key]);
    if (before !== after) differences.push(`${key}: recorded ${before}, replayed ${after}`);
  }
  return { decisionId: recorded.decisionId, matches: differences.length === 0, differences, replayed };
}
