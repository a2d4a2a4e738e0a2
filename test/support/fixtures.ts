// Sample domain objects for tests. Deterministic unless an id is passed in.
import { randomUUID } from 'node:crypto';
import { actionDigest } from '../../src/canonical/digest.ts';
import type { Action, ChannelReply, Decision, Intent } from '../../src/domain/types.ts';

export function sampleIntent(overrides: Partial<Intent> = {}): Intent {
  const intentId = overrides.intentId ?? randomUUID();
  return {
    intentId,
    conversation: { channel: 'web', conversationId: `conv-${intentId.slice(0, 8)}` },
    requester: { userId: 'alice', channel: 'web', channelUserId: 'alice', displayName: 'Alice' },
    source: 'chat',
    text: 'transfer $50 to Bob',
    action: { type: 'transfer', amountMinor: 5000, currency: 'USD', payee: 'Bob', memo: null },
    extraction: { extractor: 'test', confidence: 1 },
    submittedAt: 1_790_000_000_000,
    ...overrides,
  };
}

export function sampleDecision(intent: Intent, overrides: Partial<Decision> = {}): Decision {
  const action: Action = overrides.action ?? intent.action;
  return {
    decisionId: `dec-${intent.intentId}`,
    intentId: intent.intentId,
    conversation: intent.conversation,
    requester: intent.requester,
    action,
    actionDigest: actionDigest(action),
    outcome: 'allow',
    risk: { tier: 'low', score: 10, factors: [{ code: 'small_amount', weight: 10, detail: 'below threshold' }] },
    firedRules: ['transfer.small'],
    reason: 'small transfer to a known payee',
    policyVersion: 'test',
    policyDigest: 'sha256:00',
    context: { digest: 'sha256:00', snapshotJson: '{}' },
    humanApproval: null,
    decidedAt: intent.submittedAt + 1,
    ...overrides,
  };
}

export function sampleReply(intent: Intent, text: string): ChannelReply {
  return {
    replyId: `reply-${intent.intentId}`,
    conversation: intent.conversation,
    intentId: intent.intentId,
    recipientUserId: null,
    kind: 'outcome',
    text,
    prompt: null,
  };
}
