// Check 10, `binding`: the approval is for exactly the action about to run (its digest is recomputed
// here, never taken from the event) and for the intent, decision and approval ids of the event.
import { actionDigest } from '../../canonical/digest.ts';
import type { Action } from '../../domain/types.ts';
import type { ApprovalPayload } from '../payload.ts';
import { type CheckResult, type VerifyInput, failure, pass } from './types.ts';

function digestOf(action: Action): string | null {
  try {
    return actionDigest(action);
  } catch {
    return null;
  }
}

export function checkBinding(action: Action, event: VerifyInput['event'], payload: ApprovalPayload): CheckResult<true> {
  const digest = digestOf(action);
  if (digest === null || digest !== payload.actionDigest) {
    return failure('SNT_APPROVAL_DIGEST_MISMATCH', 'the approval was signed for another action');
  }
  if (action.type !== payload.actionType) return failure('SNT_APPROVAL_DIGEST_MISMATCH', 'the approval names another action type');
  if (payload.intentId !== event.intentId) return failure('SNT_APPROVAL_BINDING_MISMATCH', 'the approval names another intent');
  if (payload.decisionId !== event.decisionId) return failure('SNT_APPROVAL_BINDING_MISMATCH', 'the approval names another decision');
  if (event.approvalId !== undefined && payload.approvalId !== event.approvalId) {
    return failure('SNT_APPROVAL_BINDING_MISMATCH', 'the event carries another approval id than the signed one');
  }
  return pass(true);
}
