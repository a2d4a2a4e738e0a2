// The replay checks (docs/replay.md), pure: records go in as they are read, findings come out.
//  (a) every approval is re-verified (docs/approval-format.md §8) with the key registry as it stood
//      when the executor acted on it (or, never executed, when it was published), and checked
//      against the decision it names (was that decision signable, for that action and policy?);
//  (b) every decision is re-evaluated with the rule set its policyDigest names, from its own
//      context snapshot, and any difference is reported;
//  (c) intents, decisions, human answers, approvals and executions are joined by id: an intent
//      without an outcome, an execution without a valid approval, an approval executed twice.
// Read order matters for (a) only: executions before approvals gives exact verification times
// (src/replay/run.ts reads in that order). Memory holds compact facts per id, not whole records.
import type { ApprovalPayload } from '../approval/payload.ts';
import { verifyApproval } from '../approval/verify/pipeline.ts';
import type { KeyTimeline } from '../audit/key-timeline.ts';
import type {
  Decision, DecisionOutcome, EpochMillis, ExecutionResult, HumanApprovalResponse, HumanVerdict, Intent, SignedApprovalEvent,
} from '../domain/types.ts';
import { replayDecision } from '../policy/replay.ts';
import type { CompiledRuleSet } from '../policy/types.ts';

export interface Position { topic: string; partition: number; offset: string; timestamp: EpochMillis }

export const FINDING_TYPES = [
  'record_undecodable', 'approval_invalid', 'approval_not_permitted', 'decision_mismatch', 'decision_unverifiable',
  'intent_without_outcome', 'execution_without_valid_approval', 'approval_executed_twice',
] as const;
export type FindingType = (typeof FINDING_TYPES)[number];

export interface Finding {
  type: FindingType;
  detail: string;
  /** A verification code (SNT_APPROVAL_*), or the missing stage for intent_without_outcome. */
  code?: string;
  intentId?: string;
  decisionId?: string;
  approvalId?: string;
  executionId?: string;
  /** The record the finding is about. */
  at?: Position;
  differences?: string[];
  executionIds?: string[];
}

export interface AnalyzerOptions {
  keys: KeyTimeline;
  /** Rule sets by digest (recorded constitutions, plus --rules files). */
  ruleSets: ReadonlyMap<string, CompiledRuleSet>;
  audience: string;
  issuers?: readonly string[];
  clockSkewMs: number;
  maxTtlMs: number;
}

interface IntentFact { submittedAt: EpochMillis; at: Position }
interface DecisionFact { intentId: string; outcome: DecisionOutcome; actionDigest: string; policyDigest: string; decidedAt: EpochMillis; deadline: EpochMillis | null; requiredApprovals: number; at: Position }
interface ResponseFact { decisionId: string; verdict: HumanVerdict; approverUserId: string; respondedAt: EpochMillis }
interface ApprovalFact {
  approvalId: string; intentId: string; decisionId: string; valid: boolean; code: string | null; reason: string | null;
  payload: ApprovalPayload | null; verifiedAt: EpochMillis; at: Position;
}
interface ExecutionFact { executionId: string; intentId: string; approvalId: string | null; status: ExecutionResult['status']; executedAt: EpochMillis; at: Position }

export interface ReplayStats {
  records: Record<string, number>;
  undecodable: number;
  approvals: { verified: number; valid: number; invalid: number; notPermitted: number };
  decisions: { reevaluated: number; matched: number; differed: number; unverifiable: number };
  intents: { total: number; complete: number; pending: number; missingOutcome: number };
  executions: { total: number; executed: number; failed: number; refused: number; withoutValidApproval: number; duplicated: number };
}

export interface ReplayReport { findings: Finding[]; stats: ReplayStats }

export interface FinishOptions {
  /** "Now" for the join: the end of the range (or when the replay started). */
  referenceTime: EpochMillis;
  /** Flows younger than this at referenceTime may still be in flight: pending, not findings. */
  graceMs: number;
  /** Logical topics that were read; join checks need the topics they join. */
  topicsRead: ReadonlySet<string>;
}

const T = {
  intents: 'sentinel.intents', decisions: 'sentinel.decisions', human: 'sentinel.human-approvals',
  approvals: 'sentinel.approvals', executions: 'sentinel.executions',
} as const;

const iso = (t: EpochMillis): string => new Date(t).toISOString();

function push<K, V>(map: Map<K, V[]>, key: K, value: V): void {
  const list = map.get(key);
  if (list) list.push(value);
  else map.set(key, [value]);
}

export class ReplayAnalyzer {
  private readonly options: AnalyzerOptions;
  private readonly findings: Finding[] = [];
  private readonly counts = new Map<string, number>();
  private undecodable = 0;
  private readonly intents = new Map<string, IntentFact>();
  private readonly decisions = new Map<string, DecisionFact>();
  private readonly decisionsByIntent = new Map<string, string[]>();
  private readonly responsesByDecision = new Map<string, ResponseFact[]>();
  private readonly approvals = new Map<string, ApprovalFact>();
  private readonly approvalsByDecision = new Map<string, string[]>();
  private readonly executions = new Map<string, ExecutionFact>();
  private readonly executionsByApproval = new Map<string, string[]>();
  private readonly executionsByIntent = new Map<string, string[]>();
  private readonly decisionStats = { reevaluated: 0, matched: 0, differed: 0, unverifiable: 0 };
  private readonly approvalStats = { verified: 0, valid: 0, invalid: 0 };

  constructor(options: AnalyzerOptions) {
    this.options = options;
  }

  private count(topic: string): void {
    this.counts.set(topic, (this.counts.get(topic) ?? 0) + 1);
  }

  addUndecodable(at: Position, reason: string): void {
    this.count(at.topic);
    this.undecodable++;
    this.findings.push({ type: 'record_undecodable', detail: reason, at });
  }

  addIntent(intent: Intent, at: Position): void {
    this.count(at.topic);
    if (!this.intents.has(intent.intentId)) this.intents.set(intent.intentId, { submittedAt: intent.submittedAt, at });
  }

  /** (b) Re-evaluates the decision with the rule set it names. */
  addDecision(decision: Decision, at: Position): void {
    this.count(at.topic);
    if (!this.decisions.has(decision.decisionId)) {
      this.decisions.set(decision.decisionId, {
        intentId: decision.intentId, outcome: decision.outcome, actionDigest: decision.actionDigest, policyDigest: decision.policyDigest,
        decidedAt: decision.decidedAt, deadline: decision.humanApproval?.deadline ?? null, requiredApprovals: decision.humanApproval?.requiredApprovals ?? 0, at,
      });
      push(this.decisionsByIntent, decision.intentId, decision.decisionId);
    }
    const ids = { intentId: decision.intentId, decisionId: decision.decisionId };
    const ruleSet = this.options.ruleSets.get(decision.policyDigest);
    if (ruleSet === undefined) {
      this.decisionStats.unverifiable++;
      this.findings.push({ ...ids, type: 'decision_unverifiable', at, detail: `no rule set with digest ${decision.policyDigest} (version ${decision.policyVersion}) is recorded; pass it with --rules` });
      return;
    }
    this.decisionStats.reevaluated++;
    const result = replayDecision(decision, ruleSet);
    if (result.matches) {
      this.decisionStats.matched++;
      return;
    }
    this.decisionStats.differed++;
    this.findings.push({ ...ids, type: 'decision_mismatch', at, detail: `re-evaluated with policy ${ruleSet.version}, the decision comes out different`, differences: result.differences });
  }

  addHumanResponse(response: HumanApprovalResponse, at: Position): void {
    this.count(at.topic);
    const list = this.responsesByDecision.get(response.decisionId) ?? [];
    if (list.some((r) => r.approverUserId === response.approver.userId && r.verdict === response.verdict && r.respondedAt === response.respondedAt)) return;
    push(this.responsesByDecision, response.decisionId, { decisionId: response.decisionId, verdict: response.verdict, approverUserId: response.approver.userId, respondedAt: response.respondedAt });
  }

  addExecution(execution: ExecutionResult, at: Position): void {
    this.count(at.topic);
    if (this.executions.has(execution.executionId)) return; // the same record again (redelivery)
    this.executions.set(execution.executionId, {
      executionId: execution.executionId, intentId: execution.intentId, approvalId: execution.approvalId, status: execution.status, executedAt: execution.executedAt, at,
    });
    if (execution.approvalId !== null) push(this.executionsByApproval, execution.approvalId, execution.executionId);
    push(this.executionsByIntent, execution.intentId, execution.executionId);
  }

  /** When the approval was acted on: its first execution (if already read), else when it was published. */
  private actedAt(approvalId: string, publishedAt: EpochMillis): EpochMillis {
    let first: EpochMillis | null = null;
    for (const id of this.executionsByApproval.get(approvalId) ?? []) {
      const e = this.executions.get(id)!;
      if (e.status !== 'refused' && (first === null || e.executedAt < first)) first = e.executedAt;
    }
    return first ?? publishedAt;
  }

  /** (a) Re-verifies the approval with the key registry as of the time it was acted on. */
  addApproval(event: SignedApprovalEvent, at: Position): void {
    this.count(at.topic);
    const known = this.approvals.get(event.approvalId);
    const verifiedAt = this.actedAt(event.approvalId, at.timestamp);
    const input = (now: EpochMillis) => ({
      registry: this.options.keys.at(verifiedAt),
      now,
      audience: this.options.audience,
      ...(this.options.issuers ? { issuers: this.options.issuers } : {}),
      clockSkewMs: this.options.clockSkewMs,
      maxTtlMs: this.options.maxTtlMs,
      action: event.action,
      event: { intentId: event.intentId, decisionId: event.decisionId, approvalId: event.approvalId },
    });
    let verdict = verifyApproval(input(verifiedAt), event.envelope);
    if (!verdict.ok && verdict.check === 'time' && verdict.code !== 'SNT_APPROVAL_TTL_TOO_LONG' && verifiedAt !== at.timestamp) {
      // Run outside its validity window: that is the execution's fault (reported with it); the
      // approval itself is judged as of when it was published, with the keys as of the run.
      verdict = verifyApproval(input(at.timestamp), event.envelope);
    }
    this.approvalStats.verified++;
    const fact: ApprovalFact = {
      approvalId: event.approvalId, intentId: event.intentId, decisionId: event.decisionId, valid: verdict.ok,
      code: verdict.ok ? null : verdict.code, reason: verdict.ok ? null : verdict.reason, payload: verdict.payload, verifiedAt, at,
    };
    if (verdict.ok) this.approvalStats.valid++;
    else {
      this.approvalStats.invalid++;
      this.findings.push({
        type: 'approval_invalid', code: verdict.code, at, intentId: event.intentId, decisionId: event.decisionId, approvalId: event.approvalId,
        detail: `${verdict.check}: ${verdict.reason} (verified as of ${iso(verifiedAt)})`,
      });
    }
    // An id carried by a valid record and by an invalid one: the invalid one is what matters.
    if (known === undefined || (known.valid && !fact.valid)) this.approvals.set(event.approvalId, fact);
    if (known === undefined) push(this.approvalsByDecision, event.decisionId, event.approvalId);
  }

  /** Was the approval's decision one that may be signed, for this action and policy? A finding if not. */
  private notPermitted(approval: ApprovalFact, topicsRead: ReadonlySet<string>): Finding | null {
    if (!approval.valid || approval.payload === null || !topicsRead.has(T.decisions)) return null;
    const p = approval.payload;
    const decision = this.decisions.get(approval.decisionId);
    const refuse = (detail: string): Finding => ({
      type: 'approval_not_permitted', intentId: approval.intentId, decisionId: approval.decisionId, approvalId: approval.approvalId, at: approval.at, detail,
    });
    if (decision === undefined) {
      // A flow that began before the range has its decision outside it: only anchored flows are judged.
      return this.intents.has(approval.intentId) ? refuse('no decision with this id was recorded') : null;
    }
    if (decision.intentId !== approval.intentId) return refuse(`the decision belongs to intent ${decision.intentId}`);
    if (decision.outcome === 'deny') return refuse('the decision it names denied the action');
    if (decision.actionDigest !== p.actionDigest) return refuse('the signed action digest is not the decision\'s');
    if (decision.policyDigest !== p.policyDigest) return refuse('the signed policy digest is not the decision\'s');
    if ((decision.outcome === 'allow') !== (p.basis === 'policy_allow')) return refuse(`basis ${p.basis} does not match the decision's outcome ${decision.outcome}`);
    if (decision.outcome === 'require_human' && topicsRead.has(T.human)) {
      const responses = this.responsesByDecision.get(approval.decisionId) ?? [];
      const approving = new Set(responses.filter((r) => r.verdict === 'approve' && (decision.deadline === null || r.respondedAt <= decision.deadline)).map((r) => r.approverUserId));
      const named = p.approvers.filter((a) => approving.has(a.userId));
      if (named.length < Math.max(1, decision.requiredApprovals)) {
        return refuse(`${named.length} of the ${p.approvers.length} approvers it names answered "approve" in time; ${decision.requiredApprovals} needed`);
      }
    }
    return null;
  }

  finish(options: FinishOptions): ReplayReport {
    const findings = [...this.findings];
    const read = options.topicsRead;
    let notPermitted = 0;
    for (const approval of this.approvals.values()) {
      const finding = this.notPermitted(approval, read);
      if (finding) { notPermitted++; findings.push(finding); }
    }
    const settled = (t: EpochMillis) => t < options.referenceTime - options.graceMs;

    // Executions: each run (executed or failed) needs a valid approval; an approval runs at most once.
    const executionStats = { total: this.executions.size, executed: 0, failed: 0, refused: 0, withoutValidApproval: 0, duplicated: 0 };
    if (read.has(T.executions)) {
      for (const e of this.executions.values()) {
        if (e.status === 'refused') { executionStats.refused++; continue; }
        if (e.status === 'executed') executionStats.executed++; else executionStats.failed++;
        const ids = { intentId: e.intentId, approvalId: e.approvalId ?? undefined, executionId: e.executionId, at: e.at };
        const bad = (detail: string, code?: string) => {
          executionStats.withoutValidApproval++;
          findings.push({ ...ids, type: 'execution_without_valid_approval', detail, ...(code ? { code } : {}) });
        };
        if (e.approvalId === null) { bad(`the action was ${e.status === 'executed' ? 'run' : 'attempted'} without an approval id`); continue; }
        if (!read.has(T.approvals)) continue;
        const approval = this.approvals.get(e.approvalId);
        if (approval === undefined) {
          if (this.intents.has(e.intentId) || !read.has(T.intents)) bad('no approval with this id was recorded');
          continue;
        }
        if (!approval.valid) { bad(`its approval does not verify: ${approval.reason}`, approval.code ?? undefined); continue; }
        const p = approval.payload!;
        if (e.executedAt < p.notBefore - this.options.clockSkewMs) bad(`run at ${iso(e.executedAt)}, before the approval's notBefore ${iso(p.notBefore)}`, 'SNT_APPROVAL_NOT_YET_VALID');
        else if (e.executedAt >= p.expiresAt + this.options.clockSkewMs) bad(`run at ${iso(e.executedAt)}, after the approval expired at ${iso(p.expiresAt)}`, 'SNT_APPROVAL_EXPIRED');
        else if (e.intentId !== approval.intentId) bad(`the execution's intent ${e.intentId} is not the approval's ${approval.intentId}`, 'SNT_APPROVAL_BINDING_MISMATCH');
      }
      for (const [approvalId, ids] of this.executionsByApproval) {
        const runs = ids.map((id) => this.executions.get(id)!).filter((e) => e.status !== 'refused');
        if (runs.length < 2) continue;
        executionStats.duplicated++;
        findings.push({
          type: 'approval_executed_twice', approvalId, intentId: runs[0]!.intentId, executionIds: runs.map((r) => r.executionId), at: runs[1]!.at,
          detail: `the approval was acted on ${runs.length} times (${runs.map((r) => `${r.executionId} ${r.status} at ${iso(r.executedAt)}`).join(', ')})`,
        });
      }
    }

    // Intents: each one ends in an outcome — denied, answered no / expired, refused, failed or executed.
    const intentStats = { total: this.intents.size, complete: 0, pending: 0, missingOutcome: 0 };
    const chainRead = [T.intents, T.decisions, T.approvals, T.executions].every((t) => read.has(t));
    if (chainRead) {
      for (const [intentId, intent] of this.intents) {
        const state = this.outcomeOf(intentId, intent, settled, read.has(T.human));
        if (state.kind === 'complete') intentStats.complete++;
        else if (state.kind === 'pending') intentStats.pending++;
        else if (state.kind === 'missing') {
          intentStats.missingOutcome++;
          findings.push({ type: 'intent_without_outcome', intentId, code: state.stage, detail: state.detail, at: intent.at, ...(state.ids ?? {}) });
        }
      }
    }
    const order = (f: Finding) => FINDING_TYPES.indexOf(f.type);
    findings.sort((a, b) => order(a) - order(b) || (a.at?.timestamp ?? 0) - (b.at?.timestamp ?? 0));
    return {
      findings,
      stats: {
        records: Object.fromEntries(this.counts),
        undecodable: this.undecodable,
        approvals: { ...this.approvalStats, notPermitted },
        decisions: { ...this.decisionStats },
        intents: intentStats,
        executions: executionStats,
      },
    };
  }

  private outcomeOf(
    intentId: string, intent: IntentFact, settled: (t: EpochMillis) => boolean, humanRead: boolean,
  ): { kind: 'complete' } | { kind: 'pending' } | { kind: 'missing'; stage: string; detail: string; ids?: Partial<Finding> } {
    if ((this.executionsByIntent.get(intentId) ?? []).length > 0) return { kind: 'complete' };
    const decisionIds = this.decisionsByIntent.get(intentId) ?? [];
    if (decisionIds.length === 0) {
      return settled(intent.submittedAt) ? { kind: 'missing', stage: 'decision', detail: 'no decision was recorded for the intent' } : { kind: 'pending' };
    }
    const decisionId = decisionIds[decisionIds.length - 1]!;
    const decision = this.decisions.get(decisionId)!;
    const ids = { decisionId };
    if (decision.outcome === 'deny') return { kind: 'complete' };
    const approvalIds = this.approvalsByDecision.get(decisionId) ?? [];
    if (approvalIds.length === 0) {
      if (decision.outcome === 'require_human') {
        const responses = this.responsesByDecision.get(decisionId) ?? [];
        if (responses.some((r) => r.verdict === 'deny' || r.verdict === 'expired')) return { kind: 'complete' };
        const deadline = decision.deadline ?? decision.decidedAt;
        if (!settled(deadline)) return { kind: 'pending' };
        return {
          kind: 'missing', stage: humanRead ? 'human_approval' : 'approval', ids,
          detail: `needed human approval until ${iso(deadline)}; no approval${humanRead ? ', denial or expiry' : ''} was recorded`,
        };
      }
      return settled(decision.decidedAt) ? { kind: 'missing', stage: 'approval', ids, detail: 'the decision allowed the action but no approval was recorded' } : { kind: 'pending' };
    }
    const approval = this.approvals.get(approvalIds[0]!)!;
    const until = approval.payload ? approval.payload.expiresAt + this.options.clockSkewMs : approval.at.timestamp;
    if (!settled(until)) return { kind: 'pending' };
    return { kind: 'missing', stage: 'execution', ids: { ...ids, approvalId: approval.approvalId }, detail: 'the approval was issued but no execution or refusal was recorded' };
  }
}
