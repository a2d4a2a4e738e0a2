// The signer consumer's batch handler ("Bridge"): decisions and human answers in (one topic per
// batch), signed approvals and the replies they imply out. For the decisions of a batch it takes
// their locks, loads what it knows, plans each input in order (plan.ts), signs where the plan says
// so (issueApproval re-checks the decision and the answers), persists the new state together with
// the outputs of each consumed event, and returns those outputs; the runner writes them and commits
// the offsets in one Kafka transaction. An event seen before (redelivered after a crash) gets its
// stored outputs again, byte for byte; a decision already signed re-emits its stored approval.
import { issueApproval, type IssueResult } from '../../src/approval/sign.ts';
import type { RoleMembers } from '../../src/approval/authorize.ts';
import type { Signer, SignerSource } from '../../src/approval/signers/signer.ts';
import {
  ApprovalSigned, ChannelReplyRequested, DecisionMade, HumanApprovalResponded, conversationKey,
} from '../../src/contracts/events.ts';
import type { ChannelReply, Decision, HumanApprovalResponse, SignedApprovalEvent } from '../../src/domain/types.ts';
import type { BatchHandler, HandlerResult, OutboundEvent } from '../../src/kafka/runner.ts';
import {
  afterSigning, planDecision, planResponse, type DecisionState, type KnownDecision, type KnownResponse, type Plan, type Refusal,
} from './plan.ts';
import type { IssuedApproval, SignerStore, SignerTx, StoredOutput } from './store.ts';

export const SIGNER_ISSUER = 'aureus-bridge';

export interface SigningSettings {
  audience: string;
  issuer: string;
  ttlMs: number;
}

export interface SignerHandlerDependencies {
  store: SignerStore;
  /** Where each signature's key comes from (local, KMS, or the current delegated key). */
  keys: SignerSource;
  settings: SigningSettings;
  roles: () => RoleMembers;
  clock: () => number;
  /** 16+ random bytes, unpadded base64url (the adapter's CSPRNG). */
  nonce: () => string;
  onSigned?: (signer: Signer, via: 'consumer' | 'http') => void;
  onRefusal?: (refusal: Refusal) => void;
  onSignRefused?: (code: string) => void;
}

export function approvalOutput(event: SignedApprovalEvent): OutboundEvent {
  return { definition: ApprovalSigned, data: event, key: conversationKey(event.conversation) };
}

export function replyOutput(reply: ChannelReply): OutboundEvent {
  return { definition: ChannelReplyRequested, data: reply, key: conversationKey(reply.conversation) };
}

/** Signs one decision with a source, remembering which signer answered (for metrics and records). */
export async function signDecision(
  decision: Decision, responses: readonly HumanApprovalResponse[], deps: Pick<SignerHandlerDependencies, 'keys' | 'settings' | 'roles' | 'nonce'>, now: number,
): Promise<{ result: IssueResult; signer: Signer | null }> {
  let used: Signer | null = null;
  const source: SignerSource = { current: async () => (used = await deps.keys.current()) };
  const result = await issueApproval(decision, responses, source, {
    now, nonce: deps.nonce(), audience: deps.settings.audience, issuer: deps.settings.issuer, ttlMs: deps.settings.ttlMs, roles: deps.roles(),
  });
  return { result, signer: used };
}

export function issued(result: Extract<IssueResult, { ok: true }>, signer: Signer, via: IssuedApproval['via']): IssuedApproval {
  return {
    event: result.event, keyId: result.keyId, origin: signer.origin,
    issuedAt: result.payload.issuedAt, expiresAt: result.payload.expiresAt, via,
  };
}

interface Processed {
  eventId: string;
  decisionId: string;
  isDecision: boolean;
  stored: StoredOutput[] | null;
  plan: Plan | null;
}

function outputsOf(plan: Plan, decisionId: string): StoredOutput[] {
  const outputs: StoredOutput[] = [];
  if ((plan.sign !== null || plan.reemitApproval) && plan.next.known?.status === 'signed') outputs.push({ type: 'approval', decisionId });
  for (const reply of plan.replies) outputs.push({ type: 'reply', reply });
  return outputs;
}

export function createSignerHandler(deps: SignerHandlerDependencies): BatchHandler {
  return async (events) => {
    const isDecision = events[0]!.definition === DecisionMade;
    if (!isDecision && events[0]!.definition !== HumanApprovalResponded) throw new TypeError(`signer cannot handle ${events[0]!.definition.eventType}`);
    const decisionIdOf = (data: unknown) => (isDecision ? (data as Decision).decisionId : (data as HumanApprovalResponse).decisionId);
    const decisionIds = [...new Set(events.map((e) => decisionIdOf(e.data)))];
    const now = deps.clock();
    const options = { now, roles: deps.roles() };

    return deps.store.withDecisions(decisionIds, async (tx: SignerTx) => {
      const stored = await tx.loadOutputs(events.map((e) => e.metadata.eventId));
      const states = await tx.loadStates(decisionIds);
      const initiallyKnown = new Set(decisionIds.filter((id) => states.get(id)!.known !== null));
      const approvals = await tx.loadApprovals(decisionIds.filter((id) => states.get(id)!.known?.status === 'signed'));
      const newApprovals: IssuedApproval[] = [];
      const changedDecisions = new Map<string, KnownDecision>();
      const changedResponses = new Map<string, KnownResponse>();
      const processed: Processed[] = [];

      for (const event of events) {
        const eventId = event.metadata.eventId;
        const decisionId = decisionIdOf(event.data);
        const already = stored.get(eventId);
        if (already !== undefined) {
          processed.push({ eventId, decisionId, isDecision, stored: already, plan: null });
          continue;
        }
        const state: DecisionState = states.get(decisionId)!;
        let plan = isDecision ? planDecision(state, event.data as Decision, options) : planResponse(state, event.data as HumanApprovalResponse, options);
        if (plan.sign !== null) {
          // Signed inline so that the next input for this decision in the batch sees it signed.
          const { result, signer } = await signDecision(plan.next.known!.decision, plan.sign.responses, deps, now);
          if (result.ok && signer !== null) {
            const record = issued(result, signer, 'consumer');
            newApprovals.push(record);
            approvals.set(decisionId, result.event);
            deps.onSigned?.(signer, 'consumer');
          } else if (!result.ok) {
            deps.onSignRefused?.(result.code);
          }
          plan = afterSigning(plan, result.ok ? { ok: true } : result);
        }
        for (const refusal of plan.refusals) deps.onRefusal?.(refusal);
        states.set(decisionId, plan.next);
        if (plan.decisionChanged) changedDecisions.set(decisionId, plan.next.known!);
        for (const r of plan.responsesChanged) changedResponses.set(r.response.responseId, plan.next.responses.find((x) => x.response.responseId === r.response.responseId) ?? r);
        processed.push({ eventId, decisionId, isDecision, stored: null, plan });
      }

      const outputsToStore: Array<{ eventId: string; outputs: StoredOutput[] }> = [];
      const results: HandlerResult[] = processed.map((p) => {
        const outputs = p.stored ?? outputsOf(p.plan!, p.decisionId);
        // An allow decision's only output is its approval, which the decision row already re-emits.
        const derivable = p.isDecision && outputs.every((o) => o.type === 'approval');
        if (p.stored === null && outputs.length > 0 && !derivable) outputsToStore.push({ eventId: p.eventId, outputs });
        return {
          outputs: outputs.map((o) => {
            if (o.type === 'reply') return replyOutput(o.reply);
            const approval = approvals.get(o.decisionId);
            if (approval === undefined) throw new TypeError(`no stored approval for decision ${o.decisionId}`);
            return approvalOutput(approval);
          }),
        };
      });

      const wasKnown = (id: string) => initiallyKnown.has(id);
      await tx.saveDecisions([...changedDecisions.entries()].filter(([id]) => !wasKnown(id)).map(([, d]) => d));
      await tx.updateStatuses([...changedDecisions.entries()].filter(([id]) => wasKnown(id)).map(([decisionId, d]) => ({ decisionId, status: d.status, statusCode: d.statusCode })));
      await tx.saveResponses([...changedResponses.values()]);
      await tx.saveApprovals(newApprovals);
      await tx.saveOutputs(outputsToStore);
      return results;
    });
  };
}
