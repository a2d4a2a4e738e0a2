// Runs the signer ("Bridge") in the test process against the real infrastructure, and helpers to
// feed it decisions and human answers and to read what it emitted.
import type { TestContext } from 'node:test';
import { buildSignerService, signerRuntimeOptions, type SignerServiceOverrides } from '../../consumers/signer/service.ts';
import { actionDigest, sha256Tagged } from '../../src/canonical/digest.ts';
import {
  ApprovalSigned, ChannelReplyRequested, DecisionMade, HumanApprovalResponded, SigningKeyPublished, conversationKey,
} from '../../src/contracts/events.ts';
import type {
  Action, ChannelReply, Decision, HumanApprovalResponse, HumanVerdict, Principal, SignedApprovalEvent, SigningKeyRecord,
} from '../../src/domain/types.ts';
import { EventPublisher } from '../../src/kafka/publisher.ts';
import type { IncomingMessage } from '../../src/kafka/types.ts';
import { newTrace } from '../../src/observability/trace.ts';
import type { EventCodec } from '../../src/serde/codec.ts';
import type { TestBus } from './kafka.ts';
import { listeningPort, serviceEnv, startRuntime, type ServiceEnv } from './services.ts';

export const SIGNER_TEST_DB = 'sentinel_test_signer_service';

export async function startSignerService(t: TestContext, bus: TestBus, env: ServiceEnv = {}, overrides: SignerServiceOverrides = {}) {
  const runtime = await startRuntime(t, signerRuntimeOptions, serviceEnv(bus, { POSTGRES_DB: SIGNER_TEST_DB, ...env }));
  const service = await buildSignerService(runtime, { expiryIntervalMs: 200, ...overrides });
  await service.start();
  return { runtime, service, url: `http://127.0.0.1:${listeningPort(service.http)}` };
}

export function publisherFor(bus: TestBus, codec: EventCodec): EventPublisher {
  return new EventPublisher({ producer: bus.producer(), codec, topicName: bus.topicName, producerName: 'test' });
}

export async function publishDecision(publisher: EventPublisher, decision: Decision): Promise<string> {
  const { eventId } = await publisher.publish(DecisionMade, decision, { key: conversationKey(decision.conversation), trace: newTrace() });
  return eventId;
}

export async function publishResponse(publisher: EventPublisher, response: HumanApprovalResponse): Promise<string> {
  const { eventId } = await publisher.publish(HumanApprovalResponded, response, { key: response.decisionId, trace: newTrace() });
  return eventId;
}

/** A decision as policy would emit it (digests real), for a requester and conversation unique to the test. */
export function testDecision(label: string, overrides: Partial<Decision> & { action?: Action } = {}): Decision {
  const action: Action = overrides.action ?? { type: 'transfer', amountMinor: 5000, currency: 'USD', payee: 'Bob', memo: null };
  const requester: Principal = overrides.requester ?? { userId: 'alice', channel: 'web', channelUserId: 'alice', displayName: 'Alice' };
  return {
    decisionId: `dec-${label}`,
    intentId: `int-${label}`,
    conversation: { channel: 'web', conversationId: `conv-${label}` },
    requester,
    actionDigest: actionDigest(action),
    outcome: 'allow',
    risk: { tier: 'low', score: 10, factors: [{ code: 'small_amount', weight: 10, detail: 'below threshold' }] },
    firedRules: ['allow-small-transfer'],
    reason: 'small transfer to a known payee',
    policyVersion: '2026.01',
    policyDigest: sha256Tagged('constitution under test'),
    context: { digest: sha256Tagged('{}'), snapshotJson: '{}' },
    humanApproval: null,
    decidedAt: Date.now(),
    ...overrides,
    action,
  };
}

export function humanTestDecision(label: string, options: { approvers?: string[]; required?: number; deadline?: number; tier?: 'low' | 'medium' | 'high'; requesterMayApprove?: boolean } = {}, overrides: Partial<Decision> = {}): Decision {
  return testDecision(label, {
    outcome: 'require_human',
    risk: { tier: options.tier ?? 'medium', score: 55, factors: [{ code: 'new_payee', weight: 40, detail: 'first transfer to this payee' }] },
    firedRules: ['human-transfer-new-payee-cooling-off'],
    reason: 'first transfer to a new payee',
    humanApproval: {
      approvers: options.approvers ?? ['role:finance-approver'],
      requiredApprovals: options.required ?? 1,
      deadline: options.deadline ?? Date.now() + 30 * 60_000,
      requesterMayApprove: options.requesterMayApprove ?? false,
    },
    ...overrides,
  });
}

export function approver(userId: string, channel: Principal['channel'] = 'slack'): Principal {
  return { userId, channel, channelUserId: `${channel}-${userId}`, displayName: userId[0]!.toUpperCase() + userId.slice(1) };
}

let responses = 0;
export function answer(decision: Decision, who: Principal, verdict: HumanVerdict = 'approve', respondedAt = Date.now()): HumanApprovalResponse {
  const responseId = `resp-${decision.decisionId}-${who.userId}-${++responses}`;
  return {
    responseId, decisionId: decision.decisionId, intentId: decision.intentId, approver: who, verdict,
    evidence: {
      platform: who.channel, authenticatedBy: 'slack-signing-secret', platformUserId: who.channelUserId,
      platformMessageId: `msg-${responseId}`, callbackDigest: sha256Tagged(`callback ${responseId}`), receivedAt: respondedAt,
    },
    respondedAt,
  };
}

async function decodeAll<T>(codec: EventCodec, records: IncomingMessage[], fromAvro: (v: Record<string, unknown>) => { data: T }): Promise<T[]> {
  return Promise.all(records.map(async (r) => fromAvro((await codec.decode<Record<string, unknown>>(r.topic, r.value!)).value).data));
}

export async function readApprovals(bus: TestBus, codec: EventCodec, count: number, options: { settleMs?: number; timeoutMs?: number } = {}): Promise<Array<{ record: IncomingMessage; event: SignedApprovalEvent }>> {
  const records = await bus.readAll(bus.topicName('sentinel.approvals'), count, { timeoutMs: options.timeoutMs ?? 30_000, ...(options.settleMs ? { settleMs: options.settleMs } : {}) });
  const events = await decodeAll(codec, records, (v) => ApprovalSigned.fromAvro(v));
  return records.map((record, i) => ({ record, event: events[i]! }));
}

export async function readReplies(bus: TestBus, codec: EventCodec, count: number, options: { settleMs?: number; timeoutMs?: number } = {}): Promise<ChannelReply[]> {
  const records = await bus.readAll(bus.topicName('sentinel.replies'), count, { timeoutMs: options.timeoutMs ?? 30_000, ...(options.settleMs ? { settleMs: options.settleMs } : {}) });
  return decodeAll(codec, records, (v) => ChannelReplyRequested.fromAvro(v));
}

export async function readKeyRecords(bus: TestBus, codec: EventCodec, count: number, options: { settleMs?: number } = {}): Promise<SigningKeyRecord[]> {
  const records = await bus.readAll(bus.topicName('sentinel.signing-keys'), count, { timeoutMs: 30_000, ...(options.settleMs ? { settleMs: options.settleMs } : {}) });
  return decodeAll(codec, records, (v) => SigningKeyPublished.fromAvro(v));
}

export type { ServiceEnv };
