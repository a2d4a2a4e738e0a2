// A "recorded run" of the pipeline for audit and replay tests: intents, decisions from the real
// policy (decide + the default constitution), human answers, approvals signed with a local key
// through the approval library, and executions — built as domain objects, then published to a
// test bus with the key's record on sentinel.signing-keys. Also the test database for audit tables.
import { randomUUID } from 'node:crypto';
import { approverPrincipal, sampleResponse } from '../../src/approval/testing/fixtures.ts';
import { newKeyRecord } from '../../src/approval/keys/rotation.ts';
import { issueApproval } from '../../src/approval/sign.ts';
import { LocalEd25519Signer } from '../../src/approval/signers/local.ts';
import type { Config } from '../../src/config/index.ts';
import {
  ApprovalSigned, DecisionMade, ExecutionRecorded, HumanApprovalResponded, IntentSubmitted, SigningKeyPublished, conversationKey, intentKey,
} from '../../src/contracts/events.ts';
import { createPool, ensureDatabase, type Pool } from '../../src/db/pg.ts';
import { migrate } from '../../src/db/migrate.ts';
import type {
  Action, Decision, ExecutionResult, HumanApprovalResponse, Intent, SignedApprovalEvent, SigningKeyRecord,
} from '../../src/domain/types.ts';
import { EventPublisher } from '../../src/kafka/publisher.ts';
import type { MessageProducer } from '../../src/kafka/types.ts';
import { newTrace } from '../../src/observability/trace.ts';
import { emptyContext } from '../../src/policy/context.ts';
import { decide } from '../../src/policy/decide.ts';
import { deriveDecisionId } from '../../src/policy/ids.ts';
import type { CompiledRuleSet, PolicyContext } from '../../src/policy/types.ts';
import type { EventCodec } from '../../src/serde/codec.ts';
import type { TestBus } from './kafka.ts';
import { requireServices } from './infra.ts';
import { defaultRuleSet } from './policy-fixtures.ts';

export const AUDIENCE = 'aureus-executor';
export const ISSUER = 'aureus-bridge';
const DAY = 86_400_000;
const ROLES = { 'finance-approver': ['u-fin-1', 'u-fin-2'], 'ops-oncall': ['u-ops'], 'comms-approver': ['u-comms'], 'risk-officer': ['u-risk'] };

export interface RecordedRun {
  ruleSet: CompiledRuleSet;
  signer: LocalEd25519Signer;
  keyRecord: SigningKeyRecord;
  intents: Intent[];
  decisions: Decision[];
  responses: HumanApprovalResponse[];
  approvals: SignedApprovalEvent[];
  executions: ExecutionResult[];
}

const ACTIONS: Action[] = [
  { type: 'transfer', amountMinor: 5_000, currency: 'USD', payee: 'Bob Builder', memo: 'lunch' },
  { type: 'transfer', amountMinor: 150_000, currency: 'EUR', payee: 'Carol Ltd', memo: null },
  { type: 'command_run', host: 'build-01', command: 'df -h' },
  { type: 'tool_call', tool: 'shell.exec', argumentsJson: '{"cmd":"rm -rf /"}' },
  { type: 'message_send', medium: 'email', recipient: 'team@aureus.example', subject: 'Q3 report', body: 'Attached — €, 日本語.' },
  { type: 'command_run', host: 'db-01', command: 'sudo rm -rf /var/lib/postgresql' },
  { type: 'tool_call', tool: 'weather.lookup', argumentsJson: '{"city":"Oslo"}' },
];

function contextAt(now: number): PolicyContext {
  return { ...emptyContext(), counterpartyFirstSeenAt: now - 365 * DAY, userFirstSeenAt: now - 400 * DAY, userDecisionsTotal: 120 };
}

/**
 * `count` flows ending `now - 5 s` at the latest: allow → approval → executed (some failed),
 * require_human → approve (approval, executed) or deny, deny. Every flow is complete.
 */
export async function buildRecordedRun(options: { count: number; now: number; signer?: LocalEd25519Signer; idPrefix?: string }): Promise<RecordedRun> {
  const ruleSet = await defaultRuleSet();
  const signer = options.signer ?? LocalEd25519Signer.generate();
  const prefix = options.idPrefix ?? randomUUID().slice(0, 8);
  const run: RecordedRun = {
    ruleSet, signer, keyRecord: newKeyRecord({ publicKey: signer.publicKey, origin: 'local', now: options.now - 3_600_000 }),
    intents: [], decisions: [], responses: [], approvals: [], executions: [],
  };
  const start = options.now - 5_000 - options.count * 20;
  for (let i = 0; i < options.count; i++) {
    const t = start + i * 20;
    const user = `u-${i % 5}`;
    const intent: Intent = {
      intentId: `${prefix}-int-${i}`,
      conversation: { channel: 'web', conversationId: `conv-${user}` },
      requester: { userId: user, channel: 'web', channelUserId: `web-${user}`, displayName: null },
      source: i % 3 === 0 ? 'agent' : 'chat',
      text: i % 3 === 0 ? null : `please do #${i}`,
      action: ACTIONS[i % ACTIONS.length]!,
      extraction: { extractor: 'rules', confidence: 0.9 },
      submittedAt: t,
    };
    run.intents.push(intent);
    const decision = decide(intent, contextAt(t), ruleSet, { now: t + 2, decisionId: deriveDecisionId(intent.intentId) });
    run.decisions.push(decision);
    if (decision.outcome === 'deny') continue;
    const responses: HumanApprovalResponse[] = [];
    if (decision.outcome === 'require_human') {
      const approve = i % 2 === 0;
      const needed = approve ? decision.humanApproval!.requiredApprovals : 1;
      const members = decision.humanApproval!.approvers.flatMap((a) => (a.startsWith('role:') ? ROLES[a.slice(5) as keyof typeof ROLES] ?? [] : [a]));
      for (let n = 0; n < needed; n++) {
        responses.push(sampleResponse(decision, approverPrincipal(members[n]!, 'slack'), approve ? 'approve' : 'deny', t + 5 + n, `${prefix}-resp-${i}-${n}`));
      }
      run.responses.push(...responses);
      if (!approve) continue;
    }
    const issued = await issueApproval(decision, responses, signer, {
      now: t + 8, nonce: Buffer.from(`${prefix}-nonce-${i}-padding`).toString('base64url').slice(0, 22), audience: AUDIENCE, issuer: ISSUER, roles: ROLES,
    });
    if (!issued.ok) throw new Error(`fixture flow ${i} not signable: ${issued.code} ${issued.reason}`);
    run.approvals.push(issued.event);
    const failed = i % 7 === 6;
    run.executions.push({
      executionId: `${prefix}-exe-${i}`, intentId: intent.intentId, decisionId: decision.decisionId, approvalId: issued.event.approvalId,
      conversation: intent.conversation, status: failed ? 'failed' : 'executed', code: failed ? 'SNT_EXEC_HANDLER_FAILED' : null,
      reason: failed ? 'the handler failed' : 'done', resultJson: failed ? null : '{"ok":true}', executedAt: t + 12,
    });
  }
  return run;
}

export interface RunPublisher {
  intent(i: Intent): Promise<void>;
  decision(d: Decision): Promise<void>;
  response(r: HumanApprovalResponse): Promise<void>;
  approval(a: SignedApprovalEvent): Promise<void>;
  execution(e: ExecutionResult): Promise<void>;
  key(k: SigningKeyRecord): Promise<void>;
}

/** Where to publish: a TestBus, or anything with a producer and the topic naming (benchmarks). */
export interface PublishTarget { producer(): MessageProducer; topicName(logical: string): string }

export function runPublisher(bus: PublishTarget, codec: EventCodec): RunPublisher {
  const publisher = new EventPublisher({ producer: bus.producer(), codec, topicName: bus.topicName, producerName: 'recorded-run' });
  const send = async <T>(definition: Parameters<EventPublisher['publish']>[0], data: T, key: string) => {
    await publisher.publish(definition as never, data, { key, trace: newTrace() });
  };
  return {
    intent: (i) => send(IntentSubmitted, i, intentKey(i)),
    decision: (d) => send(DecisionMade, d, conversationKey(d.conversation)),
    response: (r) => send(HumanApprovalResponded, r, r.decisionId),
    approval: (a) => send(ApprovalSigned, a, conversationKey(a.conversation)),
    execution: (e) => send(ExecutionRecorded, e, conversationKey(e.conversation)),
    key: (k) => send(SigningKeyPublished, k, k.keyId),
  };
}

/** Publishes the whole run (key record first), each topic's records concurrently. */
export async function publishRun(bus: TestBus, codec: EventCodec, run: RecordedRun): Promise<RunPublisher> {
  const p = runPublisher(bus, codec);
  await p.key(run.keyRecord);
  await Promise.all([
    ...run.intents.map((x) => p.intent(x)), ...run.decisions.map((x) => p.decision(x)), ...run.responses.map((x) => p.response(x)),
    ...run.approvals.map((x) => p.approval(x)), ...run.executions.map((x) => p.execution(x)),
  ]);
  return p;
}

export const AUDIT_TEST_DATABASE = 'sentinel_test_audit';
let prepared: Promise<Config> | null = null;

/** Config whose POSTGRES_DB is the migrated audit test database (shared by the audit and replay tests). */
export function auditTestConfig(): Promise<Config> {
  prepared ??= (async () => {
    const base = await requireServices('kafka', 'registry', 'postgres');
    const config: Config = { ...base, postgres: { ...base.postgres, database: AUDIT_TEST_DATABASE } };
    for (let attempt = 1; ; attempt++) {
      try {
        await ensureDatabase(config.postgres);
        break;
      } catch (error) {
        if ((error as { code?: string }).code !== '23505' || attempt >= 3) throw error;
      }
    }
    const pool = createPool(config.postgres, { max: 1 });
    try {
      for (let attempt = 1; ; attempt++) {
        try {
          await migrate(pool);
          break;
        } catch (error) {
          if (attempt >= 3) throw error;
        }
      }
    } finally {
      await pool.end();
    }
    return config;
  })();
  return prepared;
}

export async function auditPool(t: { after(fn: () => unknown): void }, max = 4): Promise<Pool> {
  const config = await auditTestConfig();
  const pool = createPool(config.postgres, { max, applicationName: 'audit-int-test' });
  t.after(() => pool.end());
  return pool;
}
