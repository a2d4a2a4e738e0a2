// Check 11, `single_use`: the approval id was not used before (pure predicate; the executor's
// PostgreSQL unique constraint is the atomic guard across replicas and restarts).
import type { ApprovalPayload } from '../payload.ts';
import { type CheckResult, failure, pass } from './types.ts';

export function checkSingleUse(seen: ((approvalId: string) => boolean) | undefined, payload: ApprovalPayload): CheckResult<true> {
  return seen !== undefined && seen(payload.approvalId)
    ? failure('SNT_APPROVAL_REPLAYED', `approval ${payload.approvalId} was already used`)
    : pass(true);
}
