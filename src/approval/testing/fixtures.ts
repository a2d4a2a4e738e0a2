// Deterministic fixtures for approval tests, the vector generator and the mutation generator.
// Test code only: every key here is public and must never be registered outside tests.
import { actionDigest, sha256Tagged } from '../../canonical/digest.ts';
import type {
  Action, Decision, EpochMillis, HumanApprovalResponse, HumanVerdict, Principal,
} from '../../domain/types.ts';
import { LocalEd25519Signer } from '../signers/local.ts';

/** 2026-01-01T00:00:00Z. */
export const T0: EpochMillis = Date.UTC(2026, 0, 1);

/** Seeds of the test keys (SHA-256 of a label, so anyone can re-derive them). */
export function testSeed(label: string): Buffer {
  return Buffer.from(sha256Tagged(`aureus-sentinel test key: ${label}`).slice('sha256:'.length), 'hex');
}

export function testSigner(label: string, origin: 'local' | 'kms' | 'kms-delegated' = 'local'): LocalEd25519Signer {
  return LocalEd25519Signer.fromSeed(testSeed(label), origin);
}

export const ACTIONS = {
  transfer: { type: 'transfer', amountMinor: 50_000, currency: 'USD', payee: 'alice@example.com', memo: 'rent' },
  message: { type: 'message_send', medium: 'email', recipient: 'bob@example.com', subject: 'Q3 report', body: 'Attached.' },
  command: { type: 'command_run', host: 'build-01', command: 'df -h' },
  tool: { type: 'tool_call', tool: 'calendar.create', argumentsJson: '{"title":"sync","when":"2026-01-02T10:00:00Z"}' },
} as const satisfies Record<string, Action>;

export const REQUESTER: Principal = { userId: 'u-requester', channel: 'telegram', channelUserId: 'tg-1001', displayName: 'Requester' };

export function approverPrincipal(userId: string, channel: Principal['channel'] = 'slack'): Principal {
  return { userId, channel, channelUserId: `${channel}-${userId}`, displayName: null };
}

export interface DecisionOverrides extends Partial<Decision> {
  action?: Action;
}

/** An `allow` decision (override anything, e.g. outcome/humanApproval for human approvals). */
export function sampleDecision(overrides: DecisionOverrides = {}): Decision {
  const action: Action = overrides.action ?? { ...ACTIONS.transfer };
  return {
    decisionId: 'dec-0001',
    intentId: 'int-0001',
    conversation: { channel: 'telegram', conversationId: 'chat-42' },
    requester: REQUESTER,
    actionDigest: actionDigest(action),
    outcome: 'allow',
    risk: { tier: 'low', score: 12, factors: [] },
    firedRules: ['R-ALLOW-SMALL-TRANSFER'],
    reason: 'small transfer to a known payee',
    policyVersion: '2026.01.1',
    policyDigest: sha256Tagged('policy rules v2026.01.1'),
    context: { digest: sha256Tagged('{}'), snapshotJson: '{}' },
    humanApproval: null,
    decidedAt: T0,
    ...overrides,
    action,
  };
}

/** A require_human decision needing `required` approvals from the listed approvers. */
export function humanDecision(overrides: DecisionOverrides & { approvers?: string[]; required?: number; deadline?: EpochMillis; requesterMayApprove?: boolean } = {}): Decision {
  const { approvers, required, deadline, requesterMayApprove, ...rest } = overrides;
  return sampleDecision({
    decisionId: 'dec-0002',
    intentId: 'int-0002',
    outcome: 'require_human',
    risk: { tier: 'medium', score: 55, factors: [{ code: 'amount_above_threshold', weight: 40, detail: '500.00 USD > 200.00 USD' }] },
    firedRules: ['R-HUMAN-LARGE-TRANSFER'],
    reason: 'transfer above the unattended limit',
    humanApproval: {
      approvers: approvers ?? ['u-alice', 'u-bob', 'role:finance'],
      requiredApprovals: required ?? 1,
      deadline: deadline ?? T0 + 3_600_000,
      requesterMayApprove: requesterMayApprove ?? false,
    },
    ...rest,
  });
}

const AUTHENTICATED_BY: Record<Principal['channel'], string> = {
  slack: 'slack-signing-secret', discord: 'discord-interaction-signature', telegram: 'telegram-secret-token', web: 'session', http: 'api-key',
};

/** A human response to `decision` with consistent platform evidence. */
export function sampleResponse(
  decision: Decision,
  approver: Principal,
  verdict: HumanVerdict = 'approve',
  respondedAt: EpochMillis = T0 + 60_000,
  responseId = `resp-${approver.userId}-${respondedAt}`,
): HumanApprovalResponse {
  return {
    responseId,
    decisionId: decision.decisionId,
    intentId: decision.intentId,
    approver,
    verdict,
    evidence: {
      platform: approver.channel,
      authenticatedBy: AUTHENTICATED_BY[approver.channel],
      platformUserId: approver.channelUserId,
      platformMessageId: `msg-${responseId}`,
      callbackDigest: sha256Tagged(`callback ${responseId}`),
      receivedAt: respondedAt,
    },
    respondedAt,
  };
}

/** A fixed 16-byte nonce (base64url) derived from a label. */
export function testNonce(label: string): string {
  return Buffer.from(sha256Tagged(`nonce ${label}`).slice(7, 7 + 32), 'hex').toString('base64url');
}
