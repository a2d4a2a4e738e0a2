// The audit consumer's batch handler: every pipeline event becomes a link of the chain (PostgreSQL,
// one transaction per batch), and each event's links are its outputs on sentinel.audit. A
// redelivered event is not appended again; its recorded links are emitted again (same event ids).
import type { Signer, SignerSource } from '../../src/approval/signers/signer.ts';
import type { CheckpointPolicy } from '../../src/audit/chain.ts';
import { auditDraftOf } from '../../src/audit/records.ts';
import type { AuditStore } from '../../src/audit/store.ts';
import type { AuditDraft } from '../../src/audit/types.ts';
import { AuditRecorded } from '../../src/contracts/events.ts';
import type { BatchHandler, HandlerResult } from '../../src/kafka/runner.ts';

export interface AuditHandlerOptions {
  store: AuditStore;
  signer: Signer | SignerSource;
  policy: CheckpointPolicy;
  clock: () => number;
  onAppended?: (count: number, checkpoints: number) => void;
}

export function createAuditHandler(options: AuditHandlerOptions): BatchHandler {
  return async (events) => {
    const drafts: Array<AuditDraft | null> = events.map((event) => auditDraftOf({
      topic: event.definition.topic,
      metadata: event.metadata,
      data: event.data,
      source: { partition: event.message.partition, offset: event.message.offset },
    }));
    const { appended, byEvent } = await options.store.append(drafts.filter((d): d is AuditDraft => d !== null), {
      policy: options.policy, now: options.clock(), signer: options.signer,
    });
    if (appended.length > 0) options.onAppended?.(appended.length, appended.filter((e) => e.kind === 'checkpoint').length);
    return drafts.map((draft): HandlerResult => ({
      outputs: draft === null ? [] : (byEvent.get(draft.eventId) ?? []).map((entry) => ({ definition: AuditRecorded, data: entry, key: entry.chainId })),
    }));
  };
}
