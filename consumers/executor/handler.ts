// The executor's batch handler: approvals in, execution results (and the replies they imply) out.
// For each record, in order:
//  1. a record seen before (same metadata.eventId, e.g. redelivered after a crash between the
//     PostgreSQL commit and the offset commit) gets its stored result again — nothing runs twice;
//  2. verifyApproval with keys only from the registry (refreshed, bounded, when a key id is unknown
//     right after a rotation), strict Ed25519, the executor's clock with bounded skew, the action
//     digest recomputed from the event's action; anything refused never reaches a handler;
//  3. in ONE PostgreSQL transaction: claim the approval id (the primary key is the single-use guard
//     across replicas and restarts; a record carrying an id another record used is refused as a
//     replay), run the handler's effect, record the result; commit;
//  4. only then does the runner write the outputs and commit the offsets (one Kafka transaction).
import type { KeyRegistry } from '../../src/approval/keys/registry.ts';
import type { ApprovalPayload } from '../../src/approval/payload.ts';
import { verifyApproval } from '../../src/approval/verify/index.ts';
import type { Verdict } from '../../src/approval/verify/types.ts';
import { ChannelReplyRequested, ExecutionRecorded, conversationKey } from '../../src/contracts/events.ts';
import type { SignedApprovalEvent } from '../../src/domain/types.ts';
import { classifyFailure, isErrorCode } from '../../src/errors/index.ts';
import type { BatchHandler, HandlerResult, OutboundEvent } from '../../src/kafka/runner.ts';
import type { Logger } from '../../src/observability/log.ts';
import type { HandlerRegistry } from './handlers/index.ts';
import type { ExecutionContext } from './handlers/types.ts';
import {
  REPLAYED, executedOutputs, executionIdFor, planBatch, refusedOutputs, resultOf, type HandlerOutcome, type Refusal, type StoredOutput,
} from './outcome.ts';
import type { Claim, ExecutorStore, Finished, RefusalRow } from './store.ts';

export interface KeySource {
  registry(): KeyRegistry;
  /** Re-reads the key topic up to its current end, waiting at most `timeoutMs`. */
  refresh(timeoutMs: number): Promise<unknown>;
}

export interface VerificationSettings {
  audience: string;
  issuers?: readonly string[];
  clockSkewMs: number;
  maxTtlMs: number;
  /** How long to wait for the key topic when an approval names an unknown key. */
  keyRefreshMs: number;
}

export interface ExecutorHandlerDependencies {
  store: ExecutorStore;
  keys: KeySource;
  handlers: HandlerRegistry;
  settings: VerificationSettings;
  clock: () => number;
  logger: Logger;
  onVerified?: (count: number) => void;
  onRefused?: (code: string) => void;
  onExecuted?: (status: 'executed' | 'failed', actionType: string) => void;
}

export function outboundOf(outputs: readonly StoredOutput[]): OutboundEvent[] {
  return outputs.map((o) => (o.type === 'execution'
    ? { definition: ExecutionRecorded, data: o.result, key: conversationKey(o.result.conversation) }
    : { definition: ChannelReplyRequested, data: o.reply, key: conversationKey(o.reply.conversation) }));
}

interface Fresh {
  index: number;
  eventId: string;
  approval: SignedApprovalEvent;
  executionId: string;
}

async function runHandler(deps: ExecutorHandlerDependencies, db: ExecutionContext['db'], savepoint: <T>(work: () => Promise<T>) => Promise<T>, item: Fresh, payload: ApprovalPayload, now: number): Promise<HandlerOutcome> {
  const handler = deps.handlers.get(item.approval.action.type);
  if (handler === undefined) {
    return { status: 'failed', code: 'SNT_EXEC_NO_HANDLER', reason: `no handler for ${item.approval.action.type} actions` };
  }
  const context = {
    action: item.approval.action,
    approval: { approvalId: item.approval.approvalId, intentId: item.approval.intentId, decisionId: item.approval.decisionId, conversation: item.approval.conversation },
    payload, executionId: item.executionId, now, db,
  } as ExecutionContext<never>;
  const run = () => (handler.execute as (c: ExecutionContext<never>) => Promise<HandlerOutcome>)(context);
  try {
    return handler.transactional ? await savepoint(run) : await run();
  } catch (error) {
    if (classifyFailure(error) === 'transient') throw error; // PostgreSQL went away: retry the batch
    deps.logger.error({ err: error, approvalId: item.approval.approvalId }, 'handler failed');
    const code = (error as { code?: unknown }).code;
    return { status: 'failed', code: typeof code === 'string' && isErrorCode(code) && code.startsWith('SNT_EXEC_') ? code : 'SNT_EXEC_HANDLER_FAILED', reason: `the handler failed: ${(error as Error).message}` };
  }
}

export function createExecutorHandler(deps: ExecutorHandlerDependencies): BatchHandler {
  const { settings } = deps;
  return async (events) => {
    const now = deps.clock();
    const records = events.map((e, index) => ({ index, eventId: e.metadata.eventId, approval: e.data as SignedApprovalEvent, executionId: executionIdFor(e.metadata.eventId) }));
    const stored = await deps.store.storedOutputs(records.map((r) => r.eventId));
    const fresh: Fresh[] = records.filter((r) => !stored.has(r.eventId));
    const used = await deps.store.usedApprovals(fresh.map((r) => r.approval.approvalId));

    const verify = (r: Fresh): Verdict => verifyApproval({
      registry: deps.keys.registry(), now, audience: settings.audience, clockSkewMs: settings.clockSkewMs, maxTtlMs: settings.maxTtlMs,
      ...(settings.issuers ? { issuers: settings.issuers } : {}),
      action: r.approval.action,
      event: { intentId: r.approval.intentId, decisionId: r.approval.decisionId, approvalId: r.approval.approvalId },
      // Used by another record: a replay. Used by this very record: its result is re-emitted below.
      seen: (id) => used.has(id) && used.get(id) !== r.eventId,
    }, r.approval.envelope);
    let verdicts = fresh.map(verify);
    if (verdicts.some((v) => !v.ok && v.code === 'SNT_APPROVAL_KEY_UNKNOWN')) {
      await deps.keys.refresh(settings.keyRefreshMs); // a key published moments ago (rotation)
      verdicts = verdicts.map((v, i) => (!v.ok && v.code === 'SNT_APPROVAL_KEY_UNKNOWN' ? verify(fresh[i]!) : v));
    }
    deps.onVerified?.(verdicts.filter((v) => v.ok).length);
    const plans = planBatch(fresh.map((r, i) => ({ eventId: r.eventId, approvalId: r.approval.approvalId, verdict: verdicts[i]! })));

    const outputs = await deps.store.transaction(async (tx) => {
      const claims: Claim[] = [];
      fresh.forEach((r, i) => {
        const plan = plans[i]!;
        if (plan.kind === 'claim') {
          claims.push({
            approvalId: r.approval.approvalId, eventId: r.eventId, executionId: r.executionId, intentId: r.approval.intentId,
            decisionId: r.approval.decisionId, actionType: r.approval.action.type, keyId: plan.keyId, now,
          });
        }
      });
      const claimed = await tx.claim(claims);
      const holders = await tx.holders(claims.filter((c) => !claimed.has(c.approvalId)).map((c) => c.approvalId));
      const finished: Finished[] = [];
      const refusals: RefusalRow[] = [];
      const out: StoredOutput[][] = [];
      const refuse = (r: Fresh, refusal: Refusal): StoredOutput[] => {
        const o = refusedOutputs(r.approval, refusal, r.executionId, now);
        refusals.push({ eventId: r.eventId, result: resultOf(o), check: refusal.check, keyId: refusal.keyId, outputs: o });
        deps.onRefused?.(refusal.code);
        return o;
      };
      for (const [i, r] of fresh.entries()) {
        const plan = plans[i]!;
        if (plan.kind === 'refuse') {
          out.push(refuse(r, plan.refusal));
        } else if (plan.kind === 'follow') {
          // A later record of this batch with an approval id an earlier one claimed.
          out.push(plan.sameRecord ? out[plan.index]! : refuse(r, { ...REPLAYED, keyId: r.approval.envelope.signatures[0]?.keyid ?? null }));
        } else if (claimed.has(r.approval.approvalId)) {
          const outcome = await runHandler(deps, tx.db, (work) => tx.savepoint(work), r, plan.payload, now);
          const o = executedOutputs(r.approval, plan.payload, outcome, r.executionId, now);
          finished.push({ approvalId: r.approval.approvalId, result: resultOf(o), outputs: o });
          deps.onExecuted?.(outcome.status, r.approval.action.type);
          out.push(o);
        } else {
          // Claimed by another record meanwhile (another replica, or a copy of this one).
          const holder = holders.get(r.approval.approvalId);
          out.push(holder !== undefined && holder.eventId === r.eventId && holder.outputs.length > 0
            ? holder.outputs
            : refuse(r, { ...REPLAYED, keyId: plan.keyId }));
        }
      }
      await tx.finish(finished);
      await tx.refuse(refusals);
      return out;
    });

    const byIndex = new Map<number, StoredOutput[]>();
    fresh.forEach((r, i) => byIndex.set(r.index, outputs[i]!));
    return records.map((r): HandlerResult => ({ outputs: outboundOf(stored.get(r.eventId) ?? byIndex.get(r.index)!) }));
  };
}
