// Deciding a batch of intents (one Kafka poll). Contexts are loaded for the whole batch before any
// of it is recorded, so an intent sees the effect of earlier intents of the same user in the batch
// through applyDecision: two transfers in one batch cannot each slip under the daily limit.
import type { Decision, EpochMillis, Intent } from '../domain/types.ts';
import { applyDecision } from './context.ts';
import { decide } from './decide.ts';
import type { CompiledRuleSet, PolicyContext } from './types.ts';

export interface BatchItem {
  intent: Intent;
  context: PolicyContext;
}

export interface DecideBatchOptions {
  now: EpochMillis;
  decisionIdFor: (intent: Intent) => string;
}

export function decideBatch(items: readonly BatchItem[], ruleSet: CompiledRuleSet, options: DecideBatchOptions): Decision[] {
  const earlierByUser = new Map<string, Decision[]>();
  const decisions: Decision[] = [];
  for (const { intent, context } of items) {
    const earlier = earlierByUser.get(intent.requester.userId);
    let effective = context;
    if (earlier !== undefined) {
      for (const previous of earlier) effective = applyDecision(effective, intent, previous, options.now);
    }
    const decision = decide(intent, effective, ruleSet, { now: options.now, decisionId: options.decisionIdFor(intent) });
    decisions.push(decision);
    if (earlier === undefined) earlierByUser.set(intent.requester.userId, [decision]);
    else earlier.push(decision);
  }
  return decisions;
}
