// Check 2, `payload_type`: exactly the approval payload type (byte-for-byte; no parameters reordered,
// no case folding). DSSE authenticates it, so an approval cannot be replayed as another message kind.
import { APPROVAL_PAYLOAD_TYPE } from '../payload.ts';
import { type CheckResult, failure, pass } from './types.ts';

export function checkPayloadType(payloadType: string): CheckResult<string> {
  return payloadType === APPROVAL_PAYLOAD_TYPE
    ? pass(payloadType)
    : failure('SNT_APPROVAL_PAYLOAD_TYPE', `payloadType must be "${APPROVAL_PAYLOAD_TYPE}"`);
}
