// The policy consumer's batch handler: intents in, decisions (and the replies they imply) out.
// Context is loaded for the whole batch in one round trip per store; an intent redelivered after
// a crash gets its recorded decision again instead of a new one; decisions are recorded (history,
// counters, semantic memory) before they are emitted, so the log in PostgreSQL never misses a
// decision that reached Kafka. Store outages surface as SNT_DEPENDENCY_UNAVAILABLE: the runner
// then retries the batch with backoff and commits nothing — no guessed decision is ever emitted.
import { ChannelReplyRequested, DecisionMade, conversationKey } from '../../src/contracts/events.ts';
import type { Decision, Intent } from '../../src/domain/types.ts';
import type { BatchHandler, HandlerResult, OutboundEvent } from '../../src/kafka/runner.ts';
import { decideBatch, deriveDecisionId, type CompiledRuleSet, type ContextStore } from '../../src/policy/index.ts';
import { decisionReplies } from '../../src/replies/compose.ts';

export interface PolicyHandlerDependencies {
  ruleSet: () => CompiledRuleSet;
  store: ContextStore;
  clock: () => number;
  onDecision?: (decision: Decision, replayed: boolean) => void;
}

export function decisionOutputs(decision: Decision): OutboundEvent[] {
  const key = conversationKey(decision.conversation);
  return [
    { definition: DecisionMade, data: decision, key },
    ...decisionReplies(decision).map((reply) => ({ definition: ChannelReplyRequested, data: reply, key })),
  ];
}

export function createPolicyHandler(deps: PolicyHandlerDependencies): BatchHandler {
  return async (events) => {
    const intents = events.map((e) => e.data as Intent);
    const now = deps.clock();
    const loaded = await deps.store.loadMany(intents, now);
    const fresh = intents.map((intent, i) => ({ intent, context: loaded[i]!.context, index: i })).filter((_, i) => loaded[i]!.previous === null);
    const decided = decideBatch(fresh, deps.ruleSet(), { now, decisionIdFor: (intent) => deriveDecisionId(intent.intentId) });
    const decisions: Decision[] = loaded.map((l) => l.previous as Decision);
    fresh.forEach((item, n) => { decisions[item.index] = decided[n]!; });
    await deps.store.recordMany(decisions); // idempotent by decision id: completes a record a crash interrupted
    return decisions.map((decision, i): HandlerResult => {
      deps.onDecision?.(decision, loaded[i]!.previous !== null);
      return { outputs: decisionOutputs(decision) };
    });
  };
}
